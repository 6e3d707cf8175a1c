package kb

import (
	"regexp"
	"strings"

	"golang.org/x/text/unicode/norm"
)

// intent is what kind of answer a question asks for, read from its
// question words: "how do I return" and "can I return" share their topic
// but not their answer, and the question words that tell them apart are
// stop words to the full-text index.
type intent uint8

// Intents. A text may have several wh-intents ("how long and how much");
// yes-no counts only when it has none ("can I pay in installments?").
const (
	intentHow   intent = 1 << iota // a procedure, or what to do
	intentWhere                    // a place
	intentWhen                     // a time or a duration
	intentCost                     // an amount of money
	intentWhy                      // a cause
	intentYesNo                    // whether something is possible or so
)

var intentNames = []struct {
	i    intent
	name string
}{{intentHow, "how"}, {intentWhere, "where"}, {intentWhen, "when"}, {intentCost, "cost"}, {intentWhy, "why"}, {intentYesNo, "yes-no"}}

// String names the intents, for explanations.
func (i intent) String() string {
	var names []string
	for _, n := range intentNames {
		if i&n.i != 0 {
			names = append(names, n.name)
		}
	}
	return strings.Join(names, "+")
}

// intentPatterns recognise the question words of English and Chinese. The
// English patterns see the lower-cased text with its punctuation turned
// into spaces and a space at each end.
var intentPatterns = []struct {
	i  intent
	re *regexp.Regexp
}{
	{intentWhen, regexp.MustCompile(` when | how (long|soon|fast|quick|quickly|many (days|hours|weeks|minutes)) | what time | (till|until) when |什么时候|多久|多长时间|几天|几个小时|几点|何时|多少天`)},
	{intentCost, regexp.MustCompile(` how much | what does it cost | what do(es)? [a-z ]{0,20} cost |多少钱|多少费用|收费多少|是多少|贵不贵`)},
	{intentWhere, regexp.MustCompile(` where |哪里|哪儿|在哪|什么地方|什么位置|何处`)},
	{intentWhy, regexp.MustCompile(` why |为什么|为啥|为何|怎么会`)},
	{intentHow, regexp.MustCompile(` how (do|does|did|can|could|should|would|to|is|are) | how $| what (do|should|can|shall) (i|we) do | what now | what are the steps |怎么|怎样|如何|咋|步骤`)},
	{intentYesNo, regexp.MustCompile(`^ (can|could|may|do|does|did|is|are|will|would|should|am|have|has) | is it possible | is there | are there |可以|可不可以|能不能|能否|是否|有没有|吗 `)},
}

// intents reads the intents of a question or an FAQ phrasing.
func intents(text string) intent {
	t := strings.ToLower(norm.NFKC.String(text))
	var b strings.Builder
	b.WriteByte(' ')
	space := true
	for _, r := range t {
		switch {
		case r == '?' || r == '？' || r == '!' || r == '！' || r == '.' || r == '。' || r == ',' || r == '，':
			if !space {
				b.WriteByte(' ')
				space = true
			}
		case r == '\'' || r == '’':
			// where's → where s
			b.WriteByte(' ')
			space = true
		case r == ' ' || r == '\t' || r == '\n':
			if !space {
				b.WriteByte(' ')
				space = true
			}
		default:
			b.WriteRune(r)
			space = false
		}
	}
	if !space {
		b.WriteByte(' ')
	}
	s := b.String()
	var out intent
	for _, p := range intentPatterns {
		if p.i == intentYesNo && out != 0 {
			continue
		}
		if p.i == intentYesNo {
			if aNotAQuestion(s) || p.re.MatchString(s) {
				out |= p.i
			}
			continue
		}
		if p.re.MatchString(s) {
			out |= p.i
		}
	}
	return out
}

// aNotAQuestion finds the Chinese A-not-A question (发不发, 能不能, 退不退).
func aNotAQuestion(s string) bool {
	rs := []rune(s)
	for i := 1; i+1 < len(rs); i++ {
		if rs[i] == '不' && rs[i-1] == rs[i+1] && isCJK(rs[i-1]) {
			return true
		}
	}
	return false
}
