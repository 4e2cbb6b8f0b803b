//! The built-in lexicon against the default taxonomy, on hand-written
//! complaints (two per first-level category, written for this test) and,
//! when `../shared/data` is there, on the real labelled messages.

use jiefen_text::classify::Document;
use jiefen_text::{Lexicon, Segmenter, Suggester};
use std::collections::BTreeSet;
use std::path::PathBuf;

mod common;

fn manifest(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// Full codes (`first.sub`) of the default taxonomy.
fn taxonomy_codes() -> BTreeSet<String> {
    let path = manifest("../domain/data/taxonomy.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let value: toml::Value = toml::from_str(&text).unwrap();
    let mut codes = BTreeSet::new();
    for first in value["category"].as_array().unwrap() {
        let code = first["code"].as_str().unwrap();
        for sub in first["sub"].as_array().unwrap() {
            codes.insert(format!("{code}.{}", sub["code"].as_str().unwrap()));
        }
    }
    codes
}

#[test]
fn covers_exactly_the_default_taxonomy() {
    let lexicon = Lexicon::builtin();
    let taxonomy = taxonomy_codes();
    let ours: BTreeSet<String> = lexicon.codes().map(str::to_owned).collect();
    let missing: Vec<&String> = taxonomy.difference(&ours).collect();
    assert!(missing.is_empty(), "no lexicon block for {missing:?}");
    lexicon
        .check_codes(taxonomy.iter().map(String::as_str))
        .unwrap();
    assert!(lexicon
        .check_codes(
            taxonomy
                .iter()
                .map(String::as_str)
                .filter(|c| *c != "labour.injury")
        )
        .unwrap_err()
        .to_string()
        .contains("labour.injury"));
}

#[test]
fn every_category_has_fifteen_to_forty_terms() {
    let value: toml::Value = toml::from_str(jiefen_text::lexicon::BUILTIN).unwrap();
    for block in value["category"].as_array().unwrap() {
        let list = |k: &str| block.get(k).and_then(|v| v.as_array()).map_or(0, Vec::len);
        let weighted = block
            .get("weights")
            .and_then(|v| v.as_table())
            .map_or(0, |t| t.len());
        let n = list("terms") + list("strong") + weighted;
        assert!((15..=40).contains(&n), "{} has {n} terms", block["code"]);
    }
}

/// Written for this test, in the words of people who call a hotline or
/// ask for mediation; the expected full code.
const COMPLAINTS: &[(&str, &str, &str)] = &[
    (
        "老公长期家暴，我想离婚",
        "我和丈夫结婚八年，他经常喝醉酒后打我，上个月把我打伤住院，孩子也吓坏了。我想离婚并争取孩子的抚养权，希望调解委员会帮忙。",
        "marriage_family.domestic_violence",
    ),
    (
        "三个子女都不赡养八十岁老母亲",
        "我母亲今年八十二岁，独自住在村里老屋，三个儿子互相推诿，谁也不愿意出赡养费，老人生病也没人管，请村调解委员会主持公道。",
        "marriage_family.support",
    ),
    (
        "楼上住户半夜噪音不断",
        "我住在小区5栋302，楼上住户每天晚上十一点以后还在拖椅子、跺脚，孩子在地板上跑来跑去，我们上门沟通过几次都没有用，老人孩子睡不着觉，希望社区帮忙调解。",
        "neighbourhood.noise",
    ),
    (
        "邻居建房挡住我家采光和出路",
        "隔壁邻居今年翻建新房，把房子往我家这边扩了一米多，还砌了围墙，把我家门前的通道堵住了，下雨天屋檐水直接滴到我家院子里，协商多次无果。",
        "neighbourhood.boundary",
    ),
    (
        "物业费涨价没有经过业主同意",
        "我们小区物业公司今年突然把物业费从每平方1.2元涨到1.8元，没有召开业主大会，也没有公示收费依据，不交就停水停电，请求有关部门核查。",
        "property_mgmt.fees",
    ),
    (
        "小区地下车库车位只租不售，停车费太贵",
        "开发商把地下车库的车位只租不售，每月停车费500元，外来车辆随便进出乱停，业主下班回家找不到车位，物业也不管。",
        "property_mgmt.parking",
    ),
    (
        "公司拖欠三个月工资不发",
        "我在一家电子厂上班，公司从去年十月开始就没发工资，老板说资金周转困难，现在已经拖欠三个月工资了，我们二十多个员工多次讨要无果，请劳动监察部门帮忙。",
        "labour.wage_arrears",
    ),
    (
        "工地干活摔伤，公司不给认定工伤",
        "我今年五月在工地干活时从脚手架上摔下来，腿部骨折，住院花了三万多元，包工头只给了五千块，公司不给申请工伤认定，也没给我买工伤保险。",
        "labour.injury",
    ),
    (
        "医院误诊导致病情延误",
        "我父亲因胸痛到县医院就诊，医生误诊为胃病，开了药就让回家，第二天病情加重转到市医院才确诊心梗，错过了最佳治疗时间，留下了后遗症，我们要求医院承担责任。",
        "medical.malpractice",
    ),
    (
        "住院费用明细不清，怀疑重复收费",
        "我母亲住院十天，出院结算时发现住院费清单上好多项目重复收费，检查费也比别的地方贵很多，医保报销后自费部分还有一万多，希望有关部门核查。",
        "medical.fees",
    ),
    (
        "村里征地补偿款分配不公",
        "我们村去年被征地一百多亩用于修建工业园，征地补偿款到现在还没有发到村民手里，村干部说要留一部分做集体资金，补偿标准也没有公示，失地农民生活没有保障。",
        "land.expropriation",
    ),
    (
        "宅基地界址纠纷",
        "我家和堂兄家的宅基地相邻，他家建房时占了我家宅基地将近两米，我们拿出宅基地证，他不承认四至范围，请求镇里调解。",
        "land.homestead",
    ),
    (
        "健身房老板跑路，会员卡余额无法退",
        "我在小区附近的健身房办了一张年卡，花了三千多元，刚用了两个月健身房就关门了，老板电话打不通，几百个会员的余额都没法退。",
        "consumer.prepaid",
    ),
    (
        "网购的冰箱质量有问题，商家拒绝退换货",
        "我在网店买了一台冰箱，用了不到一个月就不制冷了，联系商家售后，对方说不属于三包范围，拒绝退换货，只同意收费维修。",
        "consumer.goods",
    ),
    (
        "电动车被小车撞伤，对方不肯赔偿",
        "上周我骑电动车下班，在路口被一辆小车撞倒，腿部受伤住院，交警出具的事故认定书认定对方全责，但对方一直拖着不赔医药费和误工费。",
        "traffic.compensation",
    ),
    (
        "保险公司拖延理赔",
        "我的车去年十一月发生追尾，已经报案定损，保险公司到现在都没有赔付，理由是材料不齐，每次去补材料又说还缺，明显是在拖延理赔。",
        "traffic.insurance",
    ),
    (
        "朋友借钱不还",
        "前年朋友向我借了五万元做生意，写了借条，约定一年后还款，现在已经过去两年，他一直拖着不还，电话也不接，我想请调解员帮我要回借款。",
        "contract_debt.private_lending",
    ),
    (
        "房东不退押金",
        "我租的房子合同到期退租，房东以墙面有污渍为由扣了全部押金三千元，房子是按原样交还的，和房东协商无果。",
        "contract_debt.lease",
    ),
    (
        "被邻居家的狗咬伤",
        "我晚上在小区散步时被邻居家没拴绳的狗咬伤了小腿，打狂犬针花了两千多元，狗主人只愿意出一半医药费，还说是我自己招惹的狗。",
        "damages.personal_injury",
    ),
    (
        "楼上装修把我家车砸坏了",
        "楼上住户装修时从窗户往下扔建筑材料，把我停在楼下的小车砸坏了，挡风玻璃和车顶都凹陷了，修理费要八千元，对方不承认，要求照价赔偿。",
        "damages.property_damage",
    ),
    (
        "养猪场污染我家鱼塘",
        "村里新建的养猪场把猪粪和污水直接排到小河里，下游我家承包的鱼塘死鱼一大片，损失三万多元，找养猪场老板要求赔偿，他不认账。",
        "environment.pollution",
    ),
    (
        "工地夜间施工噪音扰民",
        "我们小区旁边的工地每天晚上十点以后还在打桩，搅拌站机器轰鸣到凌晨，居民根本无法休息，找施工方理论也没有用，要求停止夜间施工。",
        "environment.noise",
    ),
    (
        "政府承诺的招商引资扶持资金迟迟不兑现",
        "我公司是招商引资进来的民营企业，当时县里承诺投产后给予奖补资金两百万元，现在已经投产两年，政策兑现一直被推诿，影响了企业正常经营，营商环境令人失望。",
        "enterprise.business_env",
    ),
    (
        "合伙公司股东之间分红纠纷",
        "我和另外两个合伙人共同出资成立了一家公司，我占股百分之三十，近三年公司盈利但从未分红，其他股东还把客户挖走另开公司，构成不正当竞争。",
        "enterprise.between_firms",
    ),
    (
        "咨询户口迁移和落户政策",
        "我是外地户籍，在本市工作五年，想咨询一下把户口迁过来需要什么条件，孩子能不能一起落户。",
        "other.general",
    ),
    (
        "申请低保被拒",
        "我家里丈夫残疾，有残疾证，我没有固定工作，去年申请低保被社区拒绝了，说收入超标，请问临时救助怎么申请。",
        "other.general",
    ),
    (
        "小区门口道路坑洼积水严重",
        "我们小区门口的市政道路路面破损严重，到处坑坑洼洼，一下雨就积水，路灯也不亮，晚上出行很不安全，希望尽快修路。",
        "dept_housing.roads",
    ),
    (
        "开发商延期交房且办不了房产证",
        "我在某楼盘买的商品房合同约定去年底交房，现在延期交房已经半年，已经交房的业主也办不了房产证，住建局一直没有处理。",
        "dept_housing.planning",
    ),
    (
        "化工厂废气超标排放",
        "开发区的化工厂每天晚上偷偷排放废气，刺鼻气味弥漫整个片区，居民喉咙不适，请生态环境局安排在线监测，查处超标排放行为。",
        "dept_environment.air",
    ),
    (
        "河道污水直排，水体发黑发臭",
        "我们镇的小河最近水体发黑发臭，沿岸几个排污口污水直排，河里经常有死鱼，请环保部门查一查排污源头，落实河长制。",
        "dept_environment.water",
    ),
    (
        "建议增开公交线路",
        "我们新建小区居民有三千多户，附近只有一条公交线路，班次少，末班车太早，上下班等车要半个多小时，建议增开公交线路或延长末班车时间。",
        "dept_transport.bus",
    ),
    (
        "出租车司机拒载绕路",
        "昨晚在高铁站打出租车，司机嫌路近拒载，后来另一辆车又故意绕路，不打表要价一百元，请运管部门查处。",
        "dept_transport.taxi",
    ),
    (
        "孩子就近入学问题",
        "我们家住在学区内，房产证和户口都符合条件，但今年孩子小学入学却被划到五公里外的学校，教育局说学位不够，请问就近入学政策怎么落实。",
        "dept_education.schools",
    ),
    (
        "社区健身器材损坏无人维修",
        "我们社区广场的健身器材大部分已经损坏，篮球场的篮板也断了，居民没有地方锻炼，希望文体部门尽快维修，落实全民健身。",
        "dept_education.culture",
    ),
    (
        "退休金计算有误",
        "我今年办理退休手续，社保局核定的养老金比同等缴费年限的同事少了五百多元，我的视同缴费年限没有计算进去，请人社局核查。",
        "dept_labour.pension",
    ),
    (
        "大学生创业补贴申请问题",
        "我是应届高校毕业生，去年开始自主创业，按照政策可以申请创业补贴和创业担保贷款，但到就业服务中心咨询，工作人员说材料不全，反复让我跑。",
        "dept_labour.employment",
    ),
    (
        "菜市场商贩缺斤少两",
        "农贸市场里好几个摊位用的秤有问题，买两斤肉回家一称只有一斤七两，缺斤少两很普遍，希望市场监管局加强检查。",
        "dept_commerce.markets",
    ),
    (
        "旅行社低价团强制购物",
        "我参加了一个旅行社组织的低价团，导游每天带我们去购物点，不买东西就不让上车，还威胁游客，请旅游部门处理。",
        "dept_commerce.tourism",
    ),
    (
        "乡镇卫生院医生服务态度差",
        "我带孩子到镇卫生院看病，挂号排了一个小时，医生看病不到两分钟，态度很差，还让我们去外面药店买药，希望卫健委整顿医德医风。",
        "dept_health.hospitals",
    ),
    (
        "疫苗接种点安排不合理",
        "社区的预防接种门诊每周只开两天，带孩子打疫苗要排半天队，疫苗还经常缺货，请疾控中心协调增加接种时间。",
        "dept_health.public_health",
    ),
    (
        "小区楼道飞线充电，消防通道被堵",
        "我们楼里很多住户把电动车推进楼道充电，还有人从窗户飞线充电，消防通道被杂物堵住，一旦着火后果不堪设想。",
        "safety.fire",
    ),
    (
        "山体滑坡隐患威胁村民安全",
        "我们村后山去年暴雨后出现裂缝，今年汛期已经有落石滚下来，山脚下住着十几户村民，存在山体滑坡的地质灾害隐患，请求相关部门勘查治理。",
        "safety.buildings",
    ),
];

fn first_level(code: &str) -> &str {
    code.split('.').next().unwrap_or(code)
}

#[test]
fn hand_written_complaints_get_their_category() {
    let lexicon = Lexicon::builtin();
    let taxonomy = taxonomy_codes();
    let firsts: BTreeSet<&str> = taxonomy.iter().map(|c| first_level(c)).collect();
    let covered: BTreeSet<&str> = COMPLAINTS.iter().map(|c| first_level(c.2)).collect();
    assert_eq!(covered, firsts, "two complaints per first-level category");

    let (mut first_top1, mut code_top1, mut misses) = (0, 0, Vec::new());
    for (title, detail, expected) in COMPLAINTS {
        assert!(taxonomy.contains(*expected), "{expected}");
        let doc = Document {
            title: (*title).into(),
            detail: (*detail).into(),
        };
        let top = lexicon.suggest(&doc, 3);
        let total: f64 = top.iter().map(|s| s.confidence).sum();
        assert!(total <= 1.0 && total > 0.0, "{title}: {top:?}");
        if !top.iter().any(|s| s.category == *expected) {
            misses.push(format!("{title} ({expected}): {top:?}"));
        }
        let best = top.first().map_or("", |s| s.category.as_str());
        first_top1 += usize::from(first_level(best) == first_level(expected));
        code_top1 += usize::from(best == *expected);
    }
    let n = COMPLAINTS.len() as f64;
    eprintln!(
        "{} complaints: first level top-1 {:.3}, category top-1 {:.3}, category in top 3 {:.3}",
        COMPLAINTS.len(),
        first_top1 as f64 / n,
        code_top1 as f64 / n,
        (COMPLAINTS.len() - misses.len()) as f64 / n
    );
    assert!(
        misses.is_empty(),
        "not in the top 3:\n{}",
        misses.join("\n")
    );
    assert!(
        first_top1 as f64 / n >= 0.9,
        "first level top-1 {first_top1}"
    );
}

#[test]
fn no_term_no_guess() {
    let doc = Document {
        title: "你好".into(),
        detail: "今天天气不错，谢谢。".into(),
    };
    assert!(Lexicon::builtin().suggest(&doc, 3).is_empty());
    let suggester = Suggester::Lexicon(Lexicon::builtin().clone());
    assert!(suggester.suggest(&Segmenter::new(), &doc, 3).is_empty());
    assert_eq!(suggester.source(), "lexicon");
    assert_eq!(suggester.categories(), taxonomy_codes().len());
}

/// The department (first-level code) each label of the labelled messages
/// is answered by in the default taxonomy.
const DEPARTMENTS: &[(&str, &str)] = &[
    ("城乡建设", "dept_housing"),
    ("环境保护", "dept_environment"),
    ("交通运输", "dept_transport"),
    ("教育文体", "dept_education"),
    ("劳动和社会保障", "dept_labour"),
    ("商贸旅游", "dept_commerce"),
    ("卫生计生", "dept_health"),
];

/// The lexicon on the real requests, never tuned on them: among the
/// department categories (those a request can have), how often its best
/// guess is the right department.
#[test]
fn real_requests_by_department() {
    let text = common::shared_data("tipdm-labelled.jsonl");
    let lexicon = Lexicon::builtin();
    let (mut right, mut silent, mut n) = (0, 0, 0);
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let doc = Document {
            title: v["title"].as_str().unwrap().into(),
            detail: v["detail"].as_str().unwrap().into(),
        };
        let label = v["category"].as_str().unwrap();
        let department = DEPARTMENTS.iter().find(|(l, _)| *l == label).unwrap().1;
        let best = lexicon
            .suggest(&doc, usize::MAX)
            .into_iter()
            .find(|s| s.category.starts_with("dept_"));
        n += 1;
        match best {
            None => silent += 1,
            Some(s) => right += usize::from(first_level(&s.category) == department),
        }
    }
    let accuracy = right as f64 / n as f64;
    eprintln!(
        "{n} real requests: right department {accuracy:.3}, no guess {:.3}",
        silent as f64 / n as f64
    );
    assert!(accuracy >= 0.55, "{accuracy}");
}
