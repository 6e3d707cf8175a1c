package kb

import "testing"

func TestGoodsAsItems(t *testing.T) {
	for _, tc := range []struct {
		in, want string
	}{
		{"my kettle stopped heating", "my item stopped heating"},
		{"Two Mugs arrived broken", "Two item arrived broken"},
		{"the frying pan and the knives", "the item and the item"},
		{"is the dishwasher safe", "is the item safe"},
		{"my bedroom potatoes", "my bedroom potatoes"},
		{"收到的杯子碎了", "收到的商品碎了"},
		{"空气炸锅坏了", "商品坏了"},
		{"退货政策是什么", "退货政策是什么"},
	} {
		if got := goods.asItems(tc.in); got != tc.want {
			t.Errorf("asItems(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
