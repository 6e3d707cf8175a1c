package kb

import "testing"

func TestIntents(t *testing.T) {
	for _, tc := range []struct {
		text string
		want intent
	}{
		{"How do I place an order?", intentHow},
		{"how to check gift card balance", intentHow},
		{"My order is late. What should I do?", intentHow},
		{"need to use the warranty on my mixer, how", intentHow},
		{"Where is my order", intentWhere},
		{"where's my stuff", intentWhere},
		{"How long does shipping take?", intentWhen},
		{"When will I get my refund?", intentWhen},
		{"how many days till it arrives", intentWhen},
		{"How much does shipping cost?", intentCost},
		{"Why was my payment declined?", intentWhy},
		{"How long and how much is express?", intentWhen | intentCost},
		{"Can I return something", intentYesNo},
		{"Do you ship internationally?", intentYesNo},
		{"is there guest checkout", intentYesNo},
		{"can you tell me how to return it", intentHow},
		{"Order status", 0},
		{"I want to cancel an order", 0},
		{"如何下单？", intentHow},
		{"电器坏了怎么办", intentHow},
		{"门店在哪里？", intentWhere},
		{"发货后多久能送到？", intentWhen},
		{"几点开门", intentWhen},
		{"运费是多少？", intentCost},
		{"为什么付款失败", intentWhy},
		{"摔坏了保修吗", intentYesNo},
		{"你们发不发日本", intentYesNo},
		{"能不能改成寄到公司", intentYesNo},
		{"可以用 PayPal 付款吗", intentYesNo},
		{"质保期", 0},
		{"ＷＨＥＲＥ is my parcel", intentWhere},
	} {
		if got := intents(tc.text); got != tc.want {
			t.Errorf("intents(%q) = %v, want %v", tc.text, got, tc.want)
		}
	}
}

func TestIntentCredit(t *testing.T) {
	for _, tc := range []struct {
		a, b intent
		want float64
	}{
		{intentHow, intentHow, 1},
		{intentWhen | intentCost, intentCost, 1},
		{intentHow, 0, intentNeutral},
		{intentHow, intentYesNo, intentYesNoCredit},
		{intentYesNo, intentWhere, intentYesNoCredit},
		{intentYesNo, intentYesNo, 1},
		{intentWhere, intentWhen, 0},
	} {
		if got := intentCredit(tc.a, tc.b); got != tc.want {
			t.Errorf("intentCredit(%v, %v) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}
