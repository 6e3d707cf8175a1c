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
	{"broken", "smashed", "shattered", "cracked", "crushed", "dented", "chipped"},
	{"manual", "instructions", "handbook", "user guide"},
	{"warranty", "guarantee", "guaranty"},
	{"password", "pw", "pwd", "passcode", "passwd"},
	{"gift", "present"},
	{"email", "e mail", "mail"},
	{"newsletter", "mailing list"},
	{"unsubscribe", "opt out"},
	{"store", "shop", "showroom", "outlet"},
	{"discount", "promo", "coupon", "voucher", "promotion"},
	{"installment", "instalment"},
	{"color", "colour"},
	{"log", "login", "logon", "signin", "sign in"},
	{"account", "profile"},
	{"invoice", "invoices"},
	{"tracking", "track", "trace"},
	{"customs", "duty", "duties"},
	{"cost", "fee", "fees"},
	{"stock", "restock", "sold out", "available", "availability"},
	{"wholesale", "bulk"},
	{"loyalty", "rewards", "reward", "points"},
}

// chineseSynonyms: canonical word, then its synonyms, replaced in the text
// before bigramming (Chinese has no word boundaries to respect).
var chineseSynonyms = [][]string{
	{"快递", "物流", "快件"},
	{"取消", "撤销", "撤单", "撤回"},
	{"退款", "退钱", "返款"},
	{"运费", "邮费", "快递费", "配送费"},
	{"免运费", "包邮", "免邮"},
	{"破损", "碎了", "摔碎", "压坏", "损坏"},
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
}

// synonymTable is the prepared form of the synonym groups.
type synonymTable struct {
	words   map[string]string // stem → canonical stem
	phrases map[string]string // "word word" (lower case, unstemmed) → canonical stem
	chinese *strings.Replacer
}

func newSynonymTable() *synonymTable {
	t := &synonymTable{words: map[string]string{}, phrases: map[string]string{}}
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
				t.phrases[w] = canon
				continue
			}
			if s := stem(w); s != canon {
				t.words[s] = canon
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

// synonyms is read-only after initialisation.
var synonyms = newSynonymTable()
