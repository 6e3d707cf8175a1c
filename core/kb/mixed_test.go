package kb

import (
	"context"
	"slices"
	"strings"
	"testing"
)

func TestMixedReadings(t *testing.T) {
	for _, tc := range []struct {
		text, chinese string
		ok            bool
	}{
		{"gift card有有效期吗", "礼品卡有有效期吗", true},
		{"Gift Card有有效期吗", "礼品卡有有效期吗", true},
		{"付款一直fail", "付款一直失败", true},
		{"我是guest下单的 tracking number去哪查", "我是guest下单的 物流去哪查", true},
		{"可以click and collect吗", "可以自提吗", true},
		{"是ordered吗", "", false},                   // a word inside another is not it
		{"how long does shipping take", "", false}, // English only
		{"退款什么时候到", "", false},                     // Chinese only
		{"ギフトカードのgift cardは使えますか", "", false},      // Japanese
	} {
		got, ok := mixed.inChinese(tc.text)
		if ok != tc.ok || got != tc.chinese {
			t.Errorf("inChinese(%q) = %q, %v; want %q, %v", tc.text, got, ok, tc.chinese, tc.ok)
		}
	}
	got, ok := mixed.inEnglish("产品的user manual在哪下载")
	if !ok || strings.ContainsFunc(got, isCJK) || !strings.Contains(got, "user manual") {
		t.Errorf("inEnglish kept Chinese or lost the English: %q, %v", got, ok)
	}
	got, _ = mixed.inEnglish("付款一直fail")
	if f := strings.Fields(got); len(f) != 2 || f[0] != "pay" || f[1] != "fail" {
		t.Errorf("inEnglish(付款一直fail) = %q, want the words pay and fail", got)
	}
	if _, ok := mixed.inEnglish("how do i pay"); ok {
		t.Error("inEnglish read an English question")
	}
}

// TestAnswererMixedLanguages: a visitor writing Chinese with English
// words in it is answered from the Chinese FAQ when it has the answer,
// and from the English FAQ when only it has.
func TestAnswererMixedLanguages(t *testing.T) {
	ctx := context.Background()
	k, _ := newKB(t, Options{})
	importAll(t, k, Input{Name: "en.csv", Content: []byte(shopFAQ)}, Input{Name: "zh.csv", Content: []byte(shopFAQzh)})
	a := k.Answerer(Thresholds{Answer: 0.72, Margin: 0.01, Suggest: 0.5})
	for question, want := range map[string]string{
		"refund多久能到":             "退款多久到账？",
		"shipping fee多少钱":        "运费是多少？",
		"我想cancel order 刚刚下的":    "Can I cancel my order?",
		"忘记password了 login不了怎么办": "How do I reset my password?",
	} {
		d, err := a.Decide(ctx, question)
		if err != nil {
			t.Fatal(err)
		}
		if d.Outcome != Answer || d.Entry.Title != want {
			t.Errorf("%q: %v %q (candidates %v), want %q answered", question, d.Outcome, d.Entry.Title, titles(d.Candidates), want)
		}
	}
}

// TestSearchMixedLanguages: the passages found for Chinese with English
// words in it include the Chinese entry the words name, for the model's
// context.
func TestSearchMixedLanguages(t *testing.T) {
	ctx := context.Background()
	k, _ := newKB(t, Options{})
	importAll(t, k, Input{Name: "en.csv", Content: []byte(shopFAQ)}, Input{Name: "zh.csv", Content: []byte(shopFAQzh)})
	hits, err := k.Search(ctx, "我的refund呢", 2)
	if err != nil {
		t.Fatal(err)
	}
	if got := titles(hits); !slices.Contains(got, "退款多久到账？") {
		t.Errorf("Search(我的refund呢) = %v, want 退款多久到账？ among them", got)
	}
}

func TestMixedLongestFirst(t *testing.T) {
	got, _ := mixed.inEnglish("退货政策是啥 policy")
	if !strings.Contains(got, "return policy") {
		t.Errorf("inEnglish(退货政策…) = %q, want the longer word's English", got)
	}
	got, _ = mixed.inChinese("我的gift card呢")
	if got != "我的礼品卡呢" {
		t.Errorf("inChinese(我的gift card呢) = %q", got)
	}
}
