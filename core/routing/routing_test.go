package routing

import (
	"regexp"
	"slices"
	"testing"

	"github.com/switchboard-chat/switchboard/core/conversation"
)

func table() Table {
	return Table{
		Default: "general",
		Departments: []Department{
			{Name: "general"},
			{Name: "billing"},
			{Name: "technical"},
			{Name: "chinese", Languages: []string{"zh"}},
			{Name: "thai", Languages: []string{"th"}},
			{Name: "vietnamese", Languages: []string{"vi"}},
			{Name: "indonesian", Languages: []string{"id"}},
			{Name: "line-desk", Channels: []string{"line"}},
		},
		Rules: []Rule{
			{Name: "refunds", Match: regexp.MustCompile(`(?i)\brefund`), Department: "billing", Priority: conversation.PriorityHigh, Tags: []string{"refund"}},
			{Name: "outage", Keywords: []string{"down", "500 error"}, Department: "technical", Priority: conversation.PriorityNormal},
			{Name: "vip", Tier: "gold", Department: "billing", Priority: conversation.PriorityUrgent, Tags: []string{"vip"}},
			{Name: "telegram-low", Channels: []string{"tg"}, Priority: conversation.PriorityLow},
		},
	}
}

func TestClassify(t *testing.T) {
	n, h, u, l := conversation.PriorityNormal, conversation.PriorityHigh, conversation.PriorityUrgent, conversation.PriorityLow
	for _, tc := range []struct {
		name     string
		in       Input
		dept     string
		priority conversation.Priority
		by       string
		raised   string
		tags     []string
	}{
		{"regular expression", Input{Lines: []string{"hello", "I want a Refund"}, Channel: "web"}, "billing", h, "rule:refunds", "", []string{"refund"}},
		{"keyword", Input{Lines: []string{"your site is down"}, Channel: "web"}, "technical", n, "rule:outage", "", nil},
		{"keyword is a whole word", Input{Lines: []string{"I downloaded the app"}, Channel: "web"}, "general", n, "default", "", nil},
		{"tier", Input{Lines: []string{"hello there"}, Channel: "web", Tier: "Gold"}, "billing", u, "rule:vip", "", []string{"vip"}},
		{"tier absent", Input{Lines: []string{"hello there"}, Channel: "web"}, "general", n, "default", "", nil},
		{"channel rule keeps the default department", Input{Lines: []string{"hello there"}, Channel: "tg"}, "general", l, "rule:telegram-low", "", nil},
		{"first rule wins", Input{Lines: []string{"refund, the site is down"}, Channel: "tg"}, "billing", h, "rule:refunds", "", []string{"refund"}},
		{"model department", Input{Lines: []string{"my printer does not print"}, Channel: "web", Hint: conversation.RouteHint{Department: "technical"}}, "technical", n, "model", "", nil},
		{"model priority", Input{Lines: []string{"my printer does not print"}, Channel: "web", Hint: conversation.RouteHint{Department: "technical", Priority: "urgent"}}, "technical", u, "model", "model", nil},
		{"unknown model department", Input{Lines: []string{"where is my parcel"}, Channel: "web", Hint: conversation.RouteHint{Department: "nope"}}, "general", n, "default", "", nil},
		{"rule beats the model", Input{Lines: []string{"refund please"}, Channel: "web", Hint: conversation.RouteHint{Department: "technical"}}, "billing", h, "rule:refunds", "", []string{"refund"}},
		{"chinese", Input{Lines: []string{"我的订单还没有到，请帮我查一下"}, Channel: "web"}, "chinese", n, "language", "", nil},
		{"thai", Input{Lines: []string{"ฉันยังไม่ได้รับสินค้าที่สั่งซื้อ"}, Channel: "web"}, "thai", n, "language", "", nil},
		{"vietnamese", Input{Lines: []string{"Tôi chưa nhận được đơn hàng của tôi"}, Channel: "web"}, "vietnamese", n, "language", "", nil},
		{"indonesian", Input{Lines: []string{"Saya belum menerima pesanan saya"}, Channel: "web"}, "indonesian", n, "language", "", nil},
		{"english has no language department", Input{Lines: []string{"I have not received my order yet"}, Channel: "web"}, "general", n, "default", "", nil},
		{"channel department", Input{Lines: []string{"I have not received my order yet"}, Channel: "line"}, "line-desk", n, "channel", "", nil},
		{"angry line raises the priority", Input{Lines: []string{"This is unacceptable, where is my order"}, Channel: "web"}, "general", h, "default", "sentiment", nil},
		{"shouting", Input{Lines: []string{"WHERE IS MY ORDER"}, Channel: "web"}, "general", h, "default", "sentiment", nil},
		{"angry chinese", Input{Lines: []string{"你们太差了，我要投诉"}, Channel: "web"}, "chinese", h, "language", "sentiment", nil},
		{"the model's priority beats the lexicon", Input{Lines: []string{"this is terrible"}, Channel: "web", Hint: conversation.RouteHint{Priority: "low"}}, "general", n, "default", "", nil},
		{"an angry rule match keeps a higher rule priority", Input{Lines: []string{"hello"}, Channel: "web", Tier: "gold"}, "billing", u, "rule:vip", "", []string{"vip"}},
		{"fallback", Input{Channel: "web"}, "general", n, "default", "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tbl := table()
			r := tbl.Classify(tc.in)
			if r.Department != tc.dept || r.Priority != tc.priority || r.By != tc.by || r.Raised != tc.raised || !slices.Equal(r.Tags, tc.tags) {
				t.Errorf("got %+v, want department %s priority %s by %s raised %q tags %v", r, tc.dept, tc.priority, tc.by, tc.raised, tc.tags)
			}
		})
	}
}

func TestDetect(t *testing.T) {
	for text, want := range map[string]string{
		"I would like to change my delivery address": "en",
		"我想修改我的收货地址":                                 "zh",
		"配送先の住所を変更したいです":                             "ja",
		"배송 주소를 변경하고 싶습니다":                           "ko",
		"ฉันต้องการเปลี่ยนที่อยู่จัดส่ง":             "th",
		"Tôi muốn thay đổi địa chỉ giao hàng":        "vi",
		"Saya ingin mengubah alamat pengiriman":      "id",
		"":                                           "",
	} {
		if got := Detect(text); got != want {
			t.Errorf("Detect(%q) = %q, want %q", text, got, want)
		}
	}
}

func BenchmarkClassify(b *testing.B) {
	tbl := table()
	in := Input{Lines: []string{"hello", "where is my order, it is late"}, Channel: "web"}
	for b.Loop() {
		tbl.Classify(in)
	}
}
