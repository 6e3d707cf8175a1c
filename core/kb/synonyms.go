package kb

import (
	"strings"

	"github.com/blevesearch/snowballstem"
	"github.com/blevesearch/snowballstem/english"
)

// Customer-service synonyms. Visitors and FAQ writers name the same
// things differently ("parcel" and "package", "money back" and "refund",
// 邮费 and 运费); full-text matching only sees shared words, so the
// analyzer folds each group below into its first word, in the index and in
// queries alike. The groups are the vocabulary of online shops' support
// (orders, delivery, returns, payment, accounts, warranty, stores), not
// any one shop's; words that are synonyms only in some contexts are left
// out.

// englishSynonyms: canonical word, then the words and two-word phrases
// that mean it. Words are stemmed like the rest of the text.
var englishSynonyms = [][]string{
	{"package", "parcel", "packet", "parcels"},
	{"ship", "deliver", "delivery", "dispatch", "postage", "shipment", "courier"},
	{"refund", "reimburse", "reimbursement", "money back"},
	{"return", "send back", "bring back", "take back"},
	{"cancel", "revoke", "call off"},
	{"remove", "take off", "take out"},
	{"broken", "broke", "damaged", "damage", "smashed", "shattered", "cracked", "crushed", "dented", "chipped", "snapped", "bent",
		"torn", "ripped", "scratched"},
	{"manual", "instructions", "handbook", "user guide"},
	{"warranty", "guarantee", "guaranty"},
	{"password", "pw", "pwd", "passcode", "passwd"},
	{"gift", "present"},
	{"email", "e mail", "mail"},
	{"newsletter", "mailing list"},
	{"unsubscribe", "opt out"},
	{"store", "shop", "showroom", "outlet"},
	{"discount", "promo", "coupon", "voucher", "promotion"},
	// Colours are one class: "the same lamp in white" asks for another
	// colour.
	{"color", "colour", "colors", "colours", "black", "white", "red", "blue", "green", "yellow", "grey", "gray", "pink", "purple",
		"orange", "brown", "beige", "navy", "silver", "gold"},
	{"log", "login", "logon", "signin", "sign in"},
	{"account", "profile", "register", "registration", "sign up", "signup"},
	{"invoice", "invoices"},
	{"tracking", "track", "trace"},
	{"customs", "duty", "duties"},
	{"cost", "fee", "fees"},
	{"stock", "restock", "sold out", "available", "availability"},
	{"wholesale", "bulk"},
	{"loyalty", "rewards", "reward", "points"},
	{"buy", "bought", "purchase", "purchased"},
	{"change", "modify", "edit", "amend", "alter"},
	{"item", "product", "goods", "merchandise"},
	{"phone", "telephone", "call"},
	{"cryptocurrency", "crypto", "bitcoin", "btc", "ethereum"},
	{"exchange", "swap"},
	{"agent", "human", "person", "representative", "operator", "manager", "supervisor"},
	{"complaint", "complain", "complaints"},
	// Card brands are cards: "my Visa was declined" is "my card was
	// declined".
	{"card", "visa", "mastercard", "amex", "maestro", "debit card", "credit card"},
	// Where a courier leaves a parcel.
	{"doorstep", "porch", "door", "doormat", "mailbox", "letterbox", "front door"},
	{"name", "surname", "lastname", "firstname", "last name", "first name"},
	{"size", "smaller", "bigger", "larger"},
	{"speak", "talk"},
	{"website", "site", "webshop", "web shop"},
	// "Do you take PayPal" asks whether it is accepted; the irregular
	// forms of "take" follow.
	{"take", "took", "taken", "accept", "accepted"},
	// Irregular forms the stemmer leaves alone.
	{"pay", "paid"},
	{"send", "sent"},
	{"steal", "stole", "stolen"},
	// "Can't remember my password" is forgetting it.
	{"forget", "forgot", "forgotten", "remember"},
	{"find", "found"},
	{"go", "went", "gone"},
	{"come", "came"},
	// Countries and regions are one class: "do you ship to Germany" asks
	// what "can you ship to my country" does.
	{"country", "countries", "abroad", "overseas", "afghanistan", "albania", "algeria", "argentina", "armenia", "australia", "austria",
		"bahrain", "bangladesh", "belarus", "belgium", "bolivia", "bosnia", "brazil", "bulgaria", "cambodia", "cameroon", "canada", "chile",
		"china", "colombia", "croatia", "cuba", "cyprus", "czechia", "czech republic", "denmark", "ecuador", "egypt", "estonia", "ethiopia",
		"finland", "france", "germany", "ghana", "greece", "guatemala", "hong kong", "hungary", "iceland", "india", "indonesia",
		"iran", "iraq", "ireland", "israel", "italy", "jamaica", "japan", "kazakhstan", "kenya", "korea", "kuwait", "laos",
		"latvia", "lebanon", "lithuania", "luxembourg", "macau", "malaysia", "malta", "mexico", "mongolia", "morocco", "myanmar", "nepal",
		"netherlands", "holland", "new zealand", "nigeria", "norway", "oman", "pakistan", "panama", "paraguay", "peru", "philippines",
		"poland", "portugal", "qatar", "romania", "russia", "saudi arabia", "serbia", "singapore", "slovakia", "slovenia", "south africa",
		"spain", "sri lanka", "sweden", "switzerland", "syria", "taiwan", "tanzania", "thailand", "tunisia", "uganda",
		"ukraine", "uae", "emirates", "uk", "britain", "england", "scotland", "wales", "uruguay", "venezuela", "vietnam",
		"europe", "eu", "asia", "africa", "latin america", "south america", "middle east"},
	// The states of the US are one class likewise: "shipping time to
	// Texas" asks what "shipping time to my state" does.
	{"state", "states", "alabama", "alaska", "arizona", "arkansas", "california", "colorado", "connecticut", "delaware", "florida",
		"georgia", "hawaii", "idaho", "illinois", "indiana", "iowa", "kansas", "kentucky", "louisiana", "maryland",
		"massachusetts", "michigan", "minnesota", "mississippi", "missouri", "montana", "nebraska", "nevada", "new hampshire",
		"new jersey", "new mexico", "new york", "north carolina", "north dakota", "ohio", "oklahoma", "oregon", "pennsylvania",
		"rhode island", "south carolina", "south dakota", "tennessee", "texas", "utah", "vermont", "virginia", "washington", "west virginia",
		"wisconsin", "wyoming"},
}

// exactSynonyms are matched before stemming, and their canonical word
// (the first) is not stemmed: the stemmer would make them one word with
// an unrelated one ("installments" and "install" both become "instal").
var exactSynonyms = [][]string{
	{"installment", "installments", "instalment", "instalments"},
	// Written as one word, "giftcard" would be a word the knowledge base
	// has never seen; "gift" is what it means here.
	{"gift", "giftcard", "giftcards", "giftcert"},
}

// chineseSynonyms: canonical word, then its synonyms, replaced in the text
// before bigramming (Chinese has no word boundaries to respect).
var chineseSynonyms = [][]string{
	{"快递", "物流", "快件"},
	{"取消", "撤销", "撤单", "撤回"},
	{"退款", "退钱", "返款"},
	{"运费", "邮费", "快递费", "配送费"},
	{"免运费", "包邮", "免邮"},
	{"破损", "碎了", "摔碎", "压坏", "损坏", "裂了", "裂开", "开裂"},
	{"保修", "质保", "保固", "售后维修"},
	{"门店", "实体店", "线下店", "店铺"},
	{"优惠码", "优惠券", "折扣码", "代金券", "优惠卷"},
	{"发票", "开票"},
	{"礼品卡", "购物卡", "礼金卡"},
	{"密码", "口令"},
	{"账号", "账户", "帐号", "帐户"},
	{"注销", "销户"},
	{"缺货", "没货", "断货", "卖完"},
	{"分期", "分期付款"},
	{"地址", "收货地址"},
	{"购买", "购物", "买东西", "网购"},
	{"取货", "拿货", "提货"},
	{"门店", "店里", "店面"},
	{"电话", "电话号码", "手机号", "打电话"},
	{"被偷", "被人拿走", "被拿走", "被偷走"},
	{"登录不了", "登不上", "登录不上", "登不进", "登录不进"},
	{"用不了", "没反应", "不管用", "不好使"},
	{"送礼", "送人", "送朋友"},
	{"收到", "拿到"},
	{"退货政策", "七天无理由退货", "七天无理由", "无理由退货"},
	{"尺码", "尺寸", "码数", "大小"},
	// Colours are one class (see englishSynonyms).
	{"颜色", "红色", "白色", "黑色", "蓝色", "绿色", "黄色", "灰色", "粉色", "紫色", "橙色", "棕色", "金色", "银色", "米色"},
	{"国外", "海外", "境外", "国际"},
	// Countries and regions are one class (see englishSynonyms).
	{"国家", "日本", "韩国", "中国大陆", "中国", "台湾", "香港", "澳门", "新加坡", "马来西亚", "泰国", "越南", "菲律宾", "印度尼西亚", "印尼",
		"印度", "澳大利亚", "澳洲", "新西兰", "加拿大", "墨西哥", "巴西", "阿根廷", "英国", "法国", "德国", "意大利", "西班牙", "葡萄牙",
		"荷兰", "比利时", "瑞士", "瑞典", "挪威", "丹麦", "芬兰", "爱尔兰", "奥地利", "波兰", "俄罗斯", "乌克兰", "土耳其", "以色列",
		"沙特", "阿联酋", "迪拜", "埃及", "南非", "欧盟", "欧洲", "亚洲", "非洲", "南美"},
}

// synonymTable is the prepared form of the synonym groups.
type synonymTable struct {
	exact   map[string]string // word (lower case, unstemmed) → canonical word
	words   map[string]string // stem → canonical stem
	phrases map[string]string // "stem stem" (each folded as words says) → canonical stem
	chinese *strings.Replacer
}

func newSynonymTable() *synonymTable {
	t := &synonymTable{exact: map[string]string{}, words: map[string]string{}, phrases: map[string]string{}}
	for _, group := range exactSynonyms {
		for _, w := range group {
			t.exact[w] = group[0]
		}
	}
	env := snowballstem.NewEnv("")
	stem := func(w string) string {
		env.SetCurrent(w)
		english.Stem(env)
		return env.Current()
	}
	for _, group := range englishSynonyms {
		canon := stem(group[0])
		for _, w := range group[1:] {
			if strings.Contains(w, " ") {
				continue
			}
			if s := stem(w); s != canon {
				t.words[s] = canon
			}
		}
	}
	// Phrases are keyed by their words' folded stems, so that every form
	// of the verb folds: "sending it back" and "sent it back" as "send it
	// back".
	for _, group := range englishSynonyms {
		canon := stem(group[0])
		for _, w := range group[1:] {
			if first, second, ok := strings.Cut(w, " "); ok {
				t.phrases[t.fold(stem(first))+" "+t.fold(stem(second))] = canon
			}
		}
	}
	var pairs []string
	for _, group := range chineseSynonyms {
		for _, w := range group[1:] {
			pairs = append(pairs, w, group[0])
		}
	}
	t.chinese = strings.NewReplacer(pairs...)
	return t
}

// fold returns the canonical stem of a stem.
func (t *synonymTable) fold(stem string) string {
	if c, ok := t.words[stem]; ok {
		return c
	}
	return stem
}

// synonyms is read-only after initialisation.
var synonyms = newSynonymTable()
