#include "demo/internal/demo_data.h"

#include <iterator>

namespace panorama::demo::internal {

const WeightedName kChineseSurnames[] = {
    {"王", "wang", 7.1},      {"李", "li", 7.0},           {"张", "zhang", 6.7},
    {"刘", "liu", 5.4},       {"陈", "chen", 4.6},         {"杨", "yang", 3.1},
    {"黄", "huang", 2.5},     {"赵", "zhao", 2.3},         {"吴", "wu", 2.0},
    {"周", "zhou", 1.9},      {"徐", "xu", 1.3},           {"孙", "sun", 1.3},
    {"马", "ma", 1.2},        {"朱", "zhu", 1.2},          {"胡", "hu", 1.1},
    {"郭", "guo", 1.1},       {"何", "he", 1.0},           {"林", "lin", 1.0},
    {"高", "gao", 1.0},       {"罗", "luo", 0.9},          {"郑", "zheng", 0.9},
    {"梁", "liang", 0.8},     {"谢", "xie", 0.7},          {"宋", "song", 0.6},
    {"唐", "tang", 0.6},      {"许", "xu", 0.6},           {"韩", "han", 0.55},
    {"邓", "deng", 0.55},     {"冯", "feng", 0.55},        {"曹", "cao", 0.5},
    {"彭", "peng", 0.5},      {"曾", "zeng", 0.45},        {"肖", "xiao", 0.45},
    {"田", "tian", 0.45},     {"董", "dong", 0.4},         {"潘", "pan", 0.4},
    {"袁", "yuan", 0.4},      {"蔡", "cai", 0.35},         {"蒋", "jiang", 0.35},
    {"余", "yu", 0.35},       {"于", "yu", 0.35},          {"杜", "du", 0.35},
    {"叶", "ye", 0.35},       {"程", "cheng", 0.33},       {"魏", "wei", 0.33},
    {"苏", "su", 0.32},       {"吕", "lv", 0.32},          {"丁", "ding", 0.3},
    {"任", "ren", 0.3},       {"沈", "shen", 0.3},         {"姚", "yao", 0.28},
    {"卢", "lu", 0.28},       {"姜", "jiang", 0.27},       {"崔", "cui", 0.26},
    {"钟", "zhong", 0.26},    {"谭", "tan", 0.25},         {"陆", "lu", 0.25},
    {"汪", "wang", 0.24},     {"范", "fan", 0.24},         {"金", "jin", 0.23},
    {"石", "shi", 0.23},      {"廖", "liao", 0.22},        {"贾", "jia", 0.22},
    {"夏", "xia", 0.21},      {"韦", "wei", 0.21},         {"付", "fu", 0.2},
    {"方", "fang", 0.2},      {"白", "bai", 0.2},          {"邹", "zou", 0.2},
    {"孟", "meng", 0.19},     {"熊", "xiong", 0.19},       {"秦", "qin", 0.18},
    {"邱", "qiu", 0.18},      {"江", "jiang", 0.18},       {"尹", "yin", 0.17},
    {"薛", "xue", 0.17},      {"闫", "yan", 0.17},         {"段", "duan", 0.16},
    {"雷", "lei", 0.16},      {"侯", "hou", 0.16},         {"龙", "long", 0.16},
    {"史", "shi", 0.15},      {"陶", "tao", 0.15},         {"黎", "li", 0.15},
    {"贺", "he", 0.15},       {"顾", "gu", 0.14},          {"毛", "mao", 0.14},
    {"郝", "hao", 0.14},      {"龚", "gong", 0.13},        {"邵", "shao", 0.13},
    {"万", "wan", 0.13},      {"钱", "qian", 0.12},        {"严", "yan", 0.12},
    {"欧阳", "ouyang", 0.05}, {"上官", "shangguan", 0.01},
};
const size_t kChineseSurnameCount = std::size(kChineseSurnames);

const GivenChar kMaleGivenChars[] = {
    {"伟", "wei"},  {"强", "qiang"}, {"磊", "lei"},   {"军", "jun"},  {"勇", "yong"},
    {"杰", "jie"},  {"涛", "tao"},   {"明", "ming"},  {"超", "chao"}, {"刚", "gang"},
    {"平", "ping"}, {"辉", "hui"},   {"鹏", "peng"},  {"华", "hua"},  {"飞", "fei"},
    {"鑫", "xin"},  {"波", "bo"},    {"斌", "bin"},   {"宇", "yu"},   {"浩", "hao"},
    {"凯", "kai"},  {"健", "jian"},  {"俊", "jun"},   {"帆", "fan"},  {"旭", "xu"},
    {"宁", "ning"}, {"龙", "long"},  {"阳", "yang"},  {"子", "zi"},   {"轩", "xuan"},
    {"梓", "zi"},   {"睿", "rui"},   {"博", "bo"},    {"晨", "chen"}, {"昊", "hao"},
    {"然", "ran"},  {"泽", "ze"},    {"航", "hang"},  {"志", "zhi"},  {"建", "jian"},
    {"国", "guo"},  {"海", "hai"},   {"峰", "feng"},  {"毅", "yi"},   {"文", "wen"},
    {"东", "dong"}, {"亮", "liang"}, {"成", "cheng"},
};
const size_t kMaleGivenCharCount = std::size(kMaleGivenChars);

const GivenChar kFemaleGivenChars[] = {
    {"芳", "fang"}, {"娜", "na"},   {"敏", "min"},  {"静", "jing"}, {"丽", "li"},   {"艳", "yan"},
    {"娟", "juan"}, {"霞", "xia"},  {"秀", "xiu"},  {"英", "ying"}, {"玲", "ling"}, {"婷", "ting"},
    {"雪", "xue"},  {"琳", "lin"},  {"欣", "xin"},  {"怡", "yi"},   {"佳", "jia"},  {"涵", "han"},
    {"萱", "xuan"}, {"雨", "yu"},   {"嘉", "jia"},  {"诺", "nuo"},  {"晓", "xiao"}, {"慧", "hui"},
    {"颖", "ying"}, {"倩", "qian"}, {"琪", "qi"},   {"瑶", "yao"},  {"璐", "lu"},   {"晶", "jing"},
    {"丹", "dan"},  {"梅", "mei"},  {"燕", "yan"},  {"红", "hong"}, {"兰", "lan"},  {"萍", "ping"},
    {"思", "si"},   {"悦", "yue"},  {"欢", "huan"}, {"月", "yue"},  {"彤", "tong"}, {"可", "ke"},
    {"心", "xin"},  {"一", "yi"},   {"梦", "meng"}, {"诗", "shi"},  {"若", "ruo"},  {"婉", "wan"},
};
const size_t kFemaleGivenCharCount = std::size(kFemaleGivenChars);

const std::string_view kEnglishMaleNames[] = {
    "James",  "John",      "Robert", "Michael", "William", "David",    "Richard",
    "Joseph", "Thomas",    "Daniel", "Matthew", "Andrew",  "Ryan",     "Jack",
    "Oliver", "Lucas",     "Ethan",  "Noah",    "Liam",    "Benjamin", "Henry",
    "Samuel", "Alexander", "Leo",    "Kevin",   "Jason",   "Eric",     "Brian",
};
const size_t kEnglishMaleNameCount = std::size(kEnglishMaleNames);

const std::string_view kEnglishFemaleNames[] = {
    "Mary",   "Patricia", "Jennifer", "Linda",     "Elizabeth", "Sarah",    "Emily",
    "Emma",   "Olivia",   "Sophia",   "Charlotte", "Amelia",    "Grace",    "Chloe",
    "Hannah", "Jessica",  "Lucy",     "Mia",       "Ava",       "Isabella", "Zoe",
    "Rachel", "Natalie",  "Megan",    "Laura",     "Alice",     "Ruby",     "Ella",
};
const size_t kEnglishFemaleNameCount = std::size(kEnglishFemaleNames);

const std::string_view kEnglishSurnames[] = {
    "Smith",  "Johnson",  "Williams", "Brown",  "Jones",  "Garcia", "Miller", "Davis",
    "Wilson", "Taylor",   "Anderson", "Thomas", "Moore",  "Martin", "Lee",    "Thompson",
    "White",  "Harris",   "Clark",    "Lewis",  "Walker", "Hall",   "Young",  "King",
    "Wright", "Scott",    "Green",    "Baker",  "Adams",  "Nelson", "Evans",  "Roberts",
    "Turner", "Campbell", "Tan",      "Lim",    "Ng",     "Wong",   "Chan",   "Cheng",
};
const size_t kEnglishSurnameCount = std::size(kEnglishSurnames);

// Mainland mobile numbers are +86 1[3-9] followed by nine digits; the generator adds the rest.
const City kDomesticCities[] = {
    {"北京", "CN", "CNY", "+861", "zh-CN", 8, 10}, {"上海", "CN", "CNY", "+861", "zh-CN", 8, 10},
    {"广州", "CN", "CNY", "+861", "zh-CN", 8, 7},  {"深圳", "CN", "CNY", "+861", "zh-CN", 8, 8},
    {"杭州", "CN", "CNY", "+861", "zh-CN", 8, 6},  {"成都", "CN", "CNY", "+861", "zh-CN", 8, 6},
    {"重庆", "CN", "CNY", "+861", "zh-CN", 8, 5},  {"武汉", "CN", "CNY", "+861", "zh-CN", 8, 5},
    {"南京", "CN", "CNY", "+861", "zh-CN", 8, 5},  {"西安", "CN", "CNY", "+861", "zh-CN", 8, 4},
    {"苏州", "CN", "CNY", "+861", "zh-CN", 8, 4},  {"天津", "CN", "CNY", "+861", "zh-CN", 8, 4},
    {"长沙", "CN", "CNY", "+861", "zh-CN", 8, 3},  {"郑州", "CN", "CNY", "+861", "zh-CN", 8, 3},
    {"青岛", "CN", "CNY", "+861", "zh-CN", 8, 3},  {"厦门", "CN", "CNY", "+861", "zh-CN", 8, 2},
    {"宁波", "CN", "CNY", "+861", "zh-CN", 8, 2},  {"合肥", "CN", "CNY", "+861", "zh-CN", 8, 2},
    {"福州", "CN", "CNY", "+861", "zh-CN", 8, 2},  {"昆明", "CN", "CNY", "+861", "zh-CN", 8, 2},
    {"沈阳", "CN", "CNY", "+861", "zh-CN", 8, 2},  {"大连", "CN", "CNY", "+861", "zh-CN", 8, 2},
    {"济南", "CN", "CNY", "+861", "zh-CN", 8, 2},  {"东莞", "CN", "CNY", "+861", "zh-CN", 8, 2},
    {"佛山", "CN", "CNY", "+861", "zh-CN", 8, 2},  {"哈尔滨", "CN", "CNY", "+861", "zh-CN", 8, 1.5},
};
const size_t kDomesticCityCount = std::size(kDomesticCities);

// phone_prefix is the country code plus the leading digit(s) of a mobile number there; see
// MobileNumber().
const City kForeignCities[] = {
    {"Singapore", "SG", "SGD", "+65", "en", 8, 6},
    {"Hong Kong", "HK", "HKD", "+852", "zh-HK", 8, 4},
    {"London", "GB", "GBP", "+447", "en", 0, 4},
    {"Manchester", "GB", "GBP", "+447", "en", 0, 1},
    {"New York", "US", "USD", "+1", "en", -5, 4},
    {"Los Angeles", "US", "USD", "+1", "en", -8, 3},
    {"San Francisco", "US", "USD", "+1", "en", -8, 2},
    {"Toronto", "CA", "CAD", "+1", "en", -5, 2},
    {"Vancouver", "CA", "CAD", "+1", "en", -8, 2},
    {"Sydney", "AU", "AUD", "+614", "en", 10, 3},
    {"Melbourne", "AU", "AUD", "+614", "en", 10, 2},
    {"Tokyo", "JP", "JPY", "+81", "ja", 9, 3},
    {"Osaka", "JP", "JPY", "+81", "ja", 9, 1},
    {"Seoul", "KR", "KRW", "+8210", "ko", 9, 1},
    {"Paris", "FR", "EUR", "+33", "fr", 1, 1},
    {"Berlin", "DE", "EUR", "+4917", "de", 1, 1},
};
const size_t kForeignCityCount = std::size(kForeignCities);

const WeightedName kDomesticEmailDomains[] = {
    {"qq.com", "", 35},     {"163.com", "", 20},    {"126.com", "", 8},   {"icloud.com", "", 7},
    {"sina.com", "", 5},    {"foxmail.com", "", 5}, {"gmail.com", "", 5}, {"outlook.com", "", 5},
    {"hotmail.com", "", 3}, {"aliyun.com", "", 2},  {"sohu.com", "", 2},
};
const size_t kDomesticEmailDomainCount = std::size(kDomesticEmailDomains);

const WeightedName kForeignEmailDomains[] = {
    {"gmail.com", "", 45},  {"outlook.com", "", 15}, {"yahoo.com", "", 12},
    {"icloud.com", "", 15}, {"hotmail.com", "", 10}, {"qq.com", "", 3},
};
const size_t kForeignEmailDomainCount = std::size(kForeignEmailDomains);

const ProductKind kProductKinds[] = {
    {"服装", "FZ", "纯棉T恤", 79, 199},      {"服装", "FZ", "牛津纺衬衫", 129, 399},
    {"服装", "FZ", "连衣裙", 199, 699},      {"服装", "FZ", "轻薄羽绒服", 499, 1599},
    {"服装", "FZ", "直筒牛仔裤", 159, 459},  {"服装", "FZ", "连帽卫衣", 149, 399},
    {"服装", "FZ", "羊毛针织衫", 299, 899},  {"鞋", "XIE", "缓震跑鞋", 399, 1299},
    {"鞋", "XIE", "帆布板鞋", 199, 499},     {"鞋", "XIE", "真皮乐福鞋", 499, 1299},
    {"鞋", "XIE", "户外徒步靴", 599, 1599},  {"美妆", "MZ", "修护精华液", 199, 899},
    {"美妆", "MZ", "保湿面霜", 159, 699},    {"美妆", "MZ", "丝绒口红", 99, 399},
    {"美妆", "MZ", "持妆粉底液", 199, 599},  {"美妆", "MZ", "补水面膜", 59, 199},
    {"美妆", "MZ", "清爽防晒霜", 89, 299},   {"数码", "SM", "降噪无线耳机", 299, 1299},
    {"数码", "SM", "快充充电宝", 99, 299},   {"数码", "SM", "智能手表", 599, 2499},
    {"数码", "SM", "蓝牙音箱", 199, 899},    {"数码", "SM", "编织数据线", 29, 99},
    {"家居", "JJ", "天丝四件套", 299, 999},  {"家居", "JJ", "香薰蜡烛", 69, 259},
    {"家居", "JJ", "不锈钢保温杯", 89, 259}, {"家居", "JJ", "记忆棉抱枕", 79, 199},
    {"家居", "JJ", "桌面收纳盒", 39, 129},   {"食品", "SP", "明前龙井", 199, 899},
    {"食品", "SP", "每日坚果礼盒", 89, 299}, {"食品", "SP", "云南咖啡豆", 69, 199},
    {"运动", "YD", "防滑瑜伽垫", 99, 299},   {"运动", "YD", "速干跑步短裤", 99, 259},
};
const size_t kProductKindCount = std::size(kProductKinds);

const std::string_view kProductSeries[] = {"云朵", "山野", "晨光", "青竹",
                                           "星河", "拾光", "素白", "极简"};
const size_t kProductSeriesCount = std::size(kProductSeries);
const std::string_view kProductVariants[] = {"雾蓝",   "燕麦色", "经典黑", "珍珠白",
                                             "樱花粉", "森林绿", "标准版", "礼盒装"};
const size_t kProductVariantCount = std::size(kProductVariants);

const std::string_view kChineseTags[] = {"会员",   "高价值",   "直播间", "小程序", "企业采购",
                                         "生日月", "价格敏感", "新品控", "复购",   "已关注公众号"};
const size_t kChineseTagCount = std::size(kChineseTags);
const std::string_view kEnglishTags[] = {"vip",        "newsletter",      "wholesale",
                                         "influencer", "price-sensitive", "early-adopter",
                                         "gift-buyer", "instagram"};
const size_t kEnglishTagCount = std::size(kEnglishTags);

const WeightedName kMembershipChannels[] = {
    {"wechat_mini_program", "", 30},
    {"tmall", "", 20},
    {"jd", "", 12},
    {"douyin", "", 10},
    {"website", "", 12},
    {"app", "", 10},
    {"store", "", 6},
};
const size_t kMembershipChannelCount = std::size(kMembershipChannels);

const InteractionText kChineseInteractions[] = {
    {"note", "客户偏好", "客户表示更喜欢新品系列，希望上新时第一时间通知。"},
    {"note", "尺码备注", "客户平时穿M码，肩宽偏大，推荐宽松版型。"},
    {"call", "订单回访", "电话回访最近一次订单，客户对物流速度和包装都很满意。"},
    {"call", "售后咨询", "客户来电询问退换货政策，已说明7天无理由退货流程。"},
    {"email", "会员权益说明", "已发送会员积分规则与生日礼遇说明邮件。"},
    {"email", "物流延迟致歉", "因仓库爆单导致发货延迟，已邮件致歉并赠送优惠券。"},
    {"meeting", "企业团购洽谈", "与客户沟通公司年会礼品团购需求，约定下周提供报价。"},
};
const size_t kChineseInteractionCount = std::size(kChineseInteractions);

const InteractionText kEnglishInteractions[] = {
    {"note", "Customer preference",
     "Prefers the new collections; asked to be told about launches."},
    {"note", "Sizing note", "Usually wears M, broad shoulders; suggest relaxed fits."},
    {"call", "Order follow-up",
     "Called about the latest order; happy with delivery time and packaging."},
    {"call", "Returns question", "Asked about returns; explained the 30-day free returns process."},
    {"email", "Membership benefits", "Sent the points rules and birthday benefits overview."},
    {"email", "Shipping delay apology", "Apologised for a delayed shipment and attached a coupon."},
    {"meeting", "Corporate gifting", "Discussed year-end corporate gifts; quote due next week."},
};
const size_t kEnglishInteractionCount = std::size(kEnglishInteractions);

}  // namespace panorama::demo::internal
