package kb

import (
	"regexp"
	"strings"
)

// Kinds of goods. Visitors name the thing they bought ("my kettle stopped
// heating", "收到的杯子碎了") where an FAQ says "item" or 商品 ("My item
// stopped working", "收到的商品破损"): the name is the object of the
// question, not its topic, and to the answerer a word the knowledge base
// has never seen weighs like an unknown topic. The answerer therefore
// reads the common kinds of consumer goods as the word for an item. Search
// keeps the names (a product-care passage about kettles is found by
// "kettle").

// englishGoods are kinds of goods, singular; plurals in -s and -es are
// matched too. Two-word names come first, so "frying pan" is one item.
var englishGoods = []string{
	"air fryer", "coffee machine", "coffee maker", "espresso machine", "rice cooker", "pressure cooker", "slow cooker",
	"stand mixer", "hand mixer", "food processor", "frying pan", "cutting board", "chopping board", "knife set",
	"water bottle", "vacuum cleaner", "hair dryer", "baking tray", "dinner set",
	"toaster", "kettle", "blender", "mixer", "juicer", "grinder", "microwave", "oven", "fridge", "refrigerator", "freezer",
	"dishwasher", "vacuum", "heater", "humidifier", "dehumidifier", "purifier",
	"pan", "pot", "saucepan", "skillet", "wok", "casserole", "mug", "cup", "teacup", "teapot", "plate", "bowl", "dish", "jug",
	"jar", "bottle", "tumbler", "knife", "knives", "fork", "spoon", "cutlery", "utensil", "spatula", "whisk", "ladle",
	"tray",
	"chair", "desk", "sofa", "couch", "stool", "shelf", "shelves", "bed", "mattress", "pillow", "cushion", "duvet",
	"blanket", "towel", "rug", "carpet", "curtain", "lamp", "mirror", "vase", "candle", "clock", "basket",
	"shoe", "boot", "sneaker", "sandal", "shirt", "tshirt", "t-shirt", "dress", "skirt", "jacket", "coat", "jumper", "sweater",
	"hoodie", "jeans", "trousers", "pants", "shorts", "sock", "hat", "scarf", "glove",
	"laptop", "tablet", "headphones", "earbuds", "speaker", "charger", "cable", "camera", "tv", "television",
	"keyboard", "printer", "toy",
}

// chineseGoods are kinds of goods, the longer names first (a name is
// replaced where it first matches in this order).
var chineseGoods = []string{
	"空气炸锅", "平底锅", "不粘锅", "电饭煲", "电饭锅", "高压锅", "咖啡机", "榨汁机", "破壁机", "搅拌机", "料理机", "厨师机",
	"烤面包机", "面包机", "微波炉", "洗碗机", "吸尘器", "扫地机", "吹风机", "电风扇", "加湿器", "净化器", "电水壶", "烧水壶",
	"热水壶", "保温杯", "马克杯", "玻璃杯", "水杯", "杯子", "水壶", "茶壶", "炒锅", "汤锅", "锅具", "盘子", "碗碟", "餐具", "刀具",
	"菜刀", "砧板", "菜板", "勺子", "筷子", "叉子", "瓶子", "烤箱", "冰箱", "电器", "椅子", "桌子", "沙发", "书架", "柜子", "床垫",
	"枕头", "被子", "毛巾", "地毯", "窗帘", "台灯", "镜子", "花瓶", "蜡烛", "鞋子", "靴子", "衣服", "裤子", "裙子", "外套", "衬衫",
	"毛衣", "帽子", "袜子", "手套", "围巾", "耳机", "充电器", "数据线", "音箱", "相机", "电视", "显示器", "键盘", "打印机", "玩具",
	"锅", "碗", "鞋",
}

// goodsNames is the prepared form of the lists above.
type goodsNames struct {
	english *regexp.Regexp
	chinese *strings.Replacer
}

func newGoodsNames() *goodsNames {
	var alts []string
	for _, w := range englishGoods {
		alts = append(alts, strings.ReplaceAll(regexp.QuoteMeta(w), " ", `\s+`))
	}
	g := &goodsNames{english: regexp.MustCompile(`(?i)\b(?:` + strings.Join(alts, "|") + `)(?:e?s)?\b`)}
	var pairs []string
	for _, w := range chineseGoods {
		pairs = append(pairs, w, "商品")
	}
	g.chinese = strings.NewReplacer(pairs...)
	return g
}

// asItems returns text with the kinds of goods it names written as "item"
// (商品 in Chinese).
func (g *goodsNames) asItems(text string) string {
	return g.chinese.Replace(g.english.ReplaceAllString(text, "item"))
}

// goods is read-only after initialisation.
var goods = newGoodsNames()
