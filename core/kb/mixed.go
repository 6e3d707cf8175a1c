package kb

import (
	"regexp"
	"slices"
	"strings"
	"unicode"
)

// Chinese with English words in it. Visitors who write Chinese often put
// the English name of a thing in the sentence ("gift card有有效期吗",
// "付款一直fail", "想改account里的email"), the way they see it on the
// site or say it at work. Matched as it is, such a question shares its
// Chinese words with the Chinese FAQ and its English ones with the
// English FAQ, and matches neither well. The answerer therefore also
// reads it with those English words put in Chinese, and with its Chinese
// words put in English (see reader.faqCandidates for which reading it
// keeps); search fuses the readings' rankings.

// englishInChinese: a Chinese word, then the English words and phrases
// that mean it, as visitors mix them into Chinese. The groups are the
// vocabulary of online shops' support, like the synonyms, not any one
// shop's.
var englishInChinese = [][]string{
	{"订单", "order", "orders", "order number"},
	{"下单", "place an order", "checkout", "check out"},
	{"购买", "buy", "purchase"},
	{"取消", "cancel", "cancellation"},
	{"修改", "change", "edit", "modify", "update"},
	{"确认邮件", "confirmation email", "confirmation mail", "confirmation"},
	{"物流", "tracking", "track", "tracking number", "logistics"},
	{"快递", "courier", "express", "delivery", "shipping", "shipment"},
	{"包裹", "parcel", "package"},
	{"发货", "ship", "shipped", "dispatch", "dispatched"},
	{"签收", "delivered"},
	{"运费", "shipping fee", "shipping cost", "postage", "delivery fee"},
	{"免运费", "free shipping", "free delivery"},
	{"国外", "overseas", "international", "abroad"},
	{"关税", "customs", "duty", "duties", "import tax"},
	{"地址", "address"},
	{"自提", "pick up", "pickup", "click and collect", "collect in store"},
	{"门店", "store", "shop", "showroom", "outlet"},
	{"营业时间", "opening hours", "business hours", "open hours"},
	{"破损", "damaged", "broken", "cracked"},
	{"发错货", "wrong item"},
	{"少了", "missing"},
	{"退货", "return", "returns", "send back"},
	{"退货政策", "return policy", "returns policy"},
	{"退款", "refund", "refunds", "money back"},
	{"换货", "exchange", "swap"},
	{"尺码", "size"},
	{"颜色", "colour", "color"},
	{"付款", "pay", "payment", "paid"},
	{"付款方式", "payment method", "payment methods"},
	{"失败", "fail", "failed", "failure", "declined", "decline", "rejected"},
	{"信用卡", "credit card", "visa", "mastercard", "amex"},
	{"分期", "installment", "installments", "instalment", "instalments", "pay later"},
	{"货到付款", "cash on delivery", "cod"},
	{"扣款", "charge", "charged"},
	{"重复扣款", "charged twice", "double charged", "double charge", "duplicate charge"},
	{"发票", "invoice", "receipt", "tax invoice"},
	{"税号", "tax id", "tax number", "vat number"},
	{"销售税", "sales tax", "vat", "gst"},
	{"税", "tax", "taxes"},
	{"礼品卡", "gift card", "gift cards", "giftcard", "gift voucher"},
	{"礼品包装", "gift wrap", "gift wrapping", "gift box"},
	{"优惠码", "coupon", "coupon code", "promo code", "promo", "discount code", "voucher"},
	{"折扣", "discount", "discounts"},
	{"批量", "bulk", "wholesale", "bulk discount"},
	{"降价", "price drop", "price match", "price adjustment", "cheaper"},
	{"缺货", "out of stock", "sold out"},
	{"补货", "restock", "back in stock"},
	{"密码", "password"},
	{"忘记密码", "forgot password", "reset password"},
	{"登录", "login", "log in", "sign in"},
	{"账号", "account"},
	{"注册", "register", "sign up", "signup"},
	{"注销", "delete account", "close account"},
	{"邮箱", "email", "e-mail", "mail"},
	{"退订", "unsubscribe", "opt out"},
	{"保修", "warranty", "guarantee"},
	{"维修", "repair", "fix"},
	{"说明书", "manual", "user manual", "instructions", "user guide"},
	{"客服", "customer service", "customer support", "support", "cs"},
	{"电话", "phone", "phone number", "hotline"},
	{"会员", "member", "membership"},
	{"积分", "points", "rewards", "reward points", "loyalty"},
	{"价格", "price"},
}

// mixedTable is the prepared form of englishInChinese.
type mixedTable struct {
	english *regexp.Regexp
	chinese map[string]string
	// toEnglish puts the Chinese words in English.
	toEnglish *strings.Replacer
}

var mixed = newMixedTable()

func newMixedTable() *mixedTable {
	t := &mixedTable{chinese: map[string]string{}}
	groups := slices.Clone(englishInChinese)
	// Longest first, in both directions: "gift card" is read before
	// "card" would be, and 退货政策 before 退货.
	slices.SortStableFunc(groups, func(a, b []string) int { return len(b[0]) - len(a[0]) })
	var phrases, pairs []string
	for _, group := range groups {
		pairs = append(pairs, group[0], " "+group[1]+" ")
		for _, w := range group[1:] {
			t.chinese[w] = group[0]
			phrases = append(phrases, regexp.QuoteMeta(w))
		}
	}
	slices.SortStableFunc(phrases, func(a, b string) int { return len(b) - len(a) })
	t.toEnglish = strings.NewReplacer(pairs...)
	t.english = regexp.MustCompile(`(?i)\b(?:` + strings.Join(phrases, "|") + `)\b`)
	return t
}

// readings returns the ways a question is read: as it is, then, for
// Chinese with English words in it, with those words in Chinese and with
// its Chinese words in English.
func (t *mixedTable) readings(text string) []string {
	out := []string{text}
	if alt, ok := t.inChinese(text); ok {
		out = append(out, alt)
	}
	if alt, ok := t.inEnglish(text); ok {
		out = append(out, alt)
	}
	return out
}

// inChinese returns text with the English words and phrases it knows put
// in Chinese, when text is Chinese with English in it; ok is false for
// any other text (Japanese included), or when no English word of it is
// known.
func (t *mixedTable) inChinese(text string) (string, bool) {
	if !isChinese(text) || !strings.ContainsFunc(text, isASCIILetter) {
		return "", false
	}
	changed := false
	out := t.english.ReplaceAllStringFunc(text, func(w string) string {
		changed = true
		return t.chinese[strings.ToLower(w)]
	})
	if !changed {
		return "", false
	}
	return out, true
}

// isChinese reports whether text has Chinese characters and no Japanese
// kana or Korean hangul.
func isChinese(text string) bool {
	return strings.ContainsFunc(text, func(r rune) bool { return unicode.Is(unicode.Han, r) }) &&
		!strings.ContainsFunc(text, func(r rune) bool { return unicode.In(r, unicode.Hiragana, unicode.Katakana, unicode.Hangul) })
}

func isASCIILetter(r rune) bool { return r < unicode.MaxASCII && unicode.IsLetter(r) }

// inEnglish returns text with the Chinese words it knows put in English
// and the other Chinese characters left out, when text is Chinese with
// English in it.
func (t *mixedTable) inEnglish(text string) (string, bool) {
	if !isChinese(text) || !strings.ContainsFunc(text, isASCIILetter) {
		return "", false
	}
	out := t.toEnglish.Replace(text)
	return strings.Map(func(r rune) rune {
		if isCJK(r) {
			return ' '
		}
		return r
	}, out), true
}
