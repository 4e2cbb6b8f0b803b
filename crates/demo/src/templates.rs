//! Chinese text for demo cases, written from the kinds of matters the source
//! articles describe. `{v}` is the village, `{a}` an applicant's name, `{r}` a
//! respondent, `{m}` an amount in yuan, `{n}` a count of people.

use jiefen_domain::case::CaseKind;

pub struct Template {
    pub kind: CaseKind,
    pub category: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    /// The respondent is an organisation (a firm, a property company).
    pub organisation: Option<&'static str>,
    pub people: u32,
}

const fn t(
    kind: CaseKind,
    category: &'static str,
    title: &'static str,
    description: &'static str,
    organisation: Option<&'static str>,
    people: u32,
) -> Template {
    Template {
        kind,
        category,
        title,
        description,
        organisation,
        people,
    }
}

use CaseKind::*;

pub const TEMPLATES: &[Template] = &[
    t(Dispute, "neighbourhood.boundary", "{v}宅前通道被围墙占用", "{a}反映，邻居{r}在自家宅基地外侧新砌围墙，占用了两家共用的通道约一米，电动车无法通行，双方多次争吵，请求调解。", None, 2),
    t(Dispute, "neighbourhood.noise", "{v}楼上住户夜间噪音扰民", "{a}称楼上住户{r}近两个月每晚十一点后仍有拖拽家具和跳动声，多次沟通无果，老人休息受到严重影响。", None, 2),
    t(Dispute, "neighbourhood.quarrel", "{v}邻里因排水沟堵塞发生口角", "{a}与{r}因屋后排水沟堵塞、雨水倒灌问题发生争执，一度推搡，经网格员劝开，双方同意到村调委会调解。", None, 2),
    t(Dispute, "marriage_family.support", "{v}老人赡养费纠纷", "{a}今年七十八岁，育有三子，因赡养费分担问题子女之间互相推诿，老人生活困难，请求村调委会组织家庭调解。", None, 4),
    t(Dispute, "marriage_family.divorce", "{v}夫妻离婚财产分割纠纷", "{a}与丈夫{r}分居一年，就婚后所建房屋及{m}元存款的分割无法达成一致，双方情绪激动，申请婚调委调解。", None, 2),
    t(Dispute, "marriage_family.inheritance", "{v}兄弟间老宅继承纠纷", "父亲去世后，{a}与其兄{r}对老宅继承份额存在争议，兄弟已多年不来往，请求调解。", None, 3),
    t(Dispute, "property_mgmt.fees", "{v}小区业主拒缴物业费", "{r}反映小区多名业主以电梯经常故障、绿化无人维护为由拒缴物业费，累计欠费约{m}元；业主代表{a}要求物业先整改。", Some("东城物业服务有限公司"), 12),
    t(Dispute, "property_mgmt.service", "{v}小区地下车库长期积水", "业主{a}称小区地下车库每逢下雨积水严重，多辆车辆被泡，物业公司推诿责任，业主群情绪较大。", Some("华庭物业管理有限公司"), 30),
    t(Dispute, "labour.migrant_wages", "{n}名农民工被拖欠工资", "{a}等{n}名农民工在{v}某安置房项目务工，包工头{r}拖欠工资共计{m}元，临近年关，工人多次上门讨要未果，情绪激动。", Some("恒信建设工程有限公司"), 8),
    t(Dispute, "labour.wage_arrears", "餐馆服务员离职后工资未结清", "{a}在{r}经营的餐馆工作八个月，离职后老板以“损坏餐具”为由扣发最后两个月工资{m}元。", None, 1),
    t(Dispute, "labour.injury", "工人务工受伤赔偿纠纷", "{a}在厂区搬运货物时被叉车撞伤左腿，住院二十天，工厂只愿支付部分医药费，双方就误工费、护理费分歧较大。", Some("东至县鑫达机械厂"), 1),
    t(Dispute, "medical.malpractice", "患者家属对手术结果有异议", "{a}的父亲在乡镇卫生院行胆囊手术后出现感染，家属认为院方处置不当，要求赔偿{m}元，扬言到医院拉横幅。", Some("某乡镇卫生院"), 6),
    t(Dispute, "land.homestead", "{v}宅基地界址争议", "{a}与{r}两家宅基地相邻，{r}翻建新房时地基向{a}家一侧延伸约半米，双方各执一词，要求村里重新勘界。", None, 2),
    t(Dispute, "land.contracting", "{v}土地流转租金未按期支付", "{v}{n}户村民将承包地流转给种植合作社，合作社已拖欠两年租金共{m}元，村民多次到村委会反映。", Some("绿源种植专业合作社"), 15),
    t(Dispute, "land.expropriation", "{v}征地青苗补偿标准争议", "{a}等村民对道路拓宽工程征地中的青苗和附属物补偿标准有异议，认为与邻村标准不一致。", None, 9),
    t(Dispute, "consumer.prepaid", "健身房关门预付卡无法退费", "{a}等会员在{v}附近一家健身房办理年卡，近期门店突然停业，老板{r}联系不上，涉及金额约{m}元。", Some("力动健身会所"), 20),
    t(Dispute, "traffic.compensation", "电动车与小轿车相撞赔偿纠纷", "{a}骑电动车在村道与{r}驾驶的小轿车相撞，交警认定双方同等责任，就医疗费{m}元的分担未达成一致。", None, 2),
    t(Dispute, "contract_debt.private_lending", "朋友借款到期不还", "{a}三年前借给{r}人民币{m}元用于做生意，约定一年归还，至今仅还部分利息，多次催讨无果。", None, 2),
    t(Dispute, "contract_debt.construction", "房屋装修工程款纠纷", "{a}请{r}装修新房，因墙面开裂、工期延误，{a}拒付尾款{m}元，{r}多次上门催要发生争吵。", None, 2),
    t(Dispute, "damages.property_damage", "养殖鱼塘因邻厂排水死鱼", "{a}承包的鱼塘近日出现大面积死鱼，怀疑与上游{r}排放废水有关，估算损失{m}元。", Some("宏达化工有限公司"), 3),
    t(Dispute, "environment.noise", "{v}搅拌站夜间施工噪音扰民", "{v}附近的混凝土搅拌站经常夜间作业，噪音和粉尘影响周边{n}户居民休息，居民多次投诉。", Some("城建混凝土有限公司"), 40),
    t(Dispute, "enterprise.between_firms", "两家企业货款结算纠纷", "{a}为{r}供应包装材料，双方对质量扣款有争议，{r}拖欠货款{m}元，影响企业资金周转。", Some("皖南包装材料有限公司"), 2),
    t(Petition, "land.demolition", "对房屋征收补偿安置方案有异议", "{a}代表{n}户被征收户反映，旧城改造项目的安置房面积和过渡费标准偏低，多次到县里反映，要求重新评估。", None, 18),
    t(Petition, "labour.social_insurance", "企业未依法缴纳社会保险", "{a}反映所在企业多年未为职工足额缴纳养老保险，临近退休无法办理手续，请求有关部门督促补缴。", Some("东至县纺织厂"), 5),
    t(Petition, "property_mgmt.maintenance_fund", "小区维修资金使用不透明", "业主{a}反映，小区专项维修资金被用于更换电梯，但业主未被征求意见，账目不公开。", Some("东城物业服务有限公司"), 25),
    t(Request, "dept_housing.roads", "{v}村道路面破损坑洼", "{v}通往镇上的水泥路多处开裂塌陷，雨天积水，学生上学和车辆通行存在安全隐患，请求尽快维修。", None, 60),
    t(Request, "dept_environment.air", "{v}附近工厂排放异味", "{v}居民反映附近工厂每天傍晚排放刺鼻气味，老人小孩出现咳嗽，请求环保部门检测处理。", None, 35),
    t(Request, "dept_education.schools", "孩子入学学区划分咨询", "{a}家住{v}，孩子今年上小学，对新的学区划分有疑问，希望教育部门给予答复。", None, 1),
    t(Request, "dept_labour.pension", "养老保险关系转移办理缓慢", "{a}从外省回乡，养老保险关系转移申请已提交三个月仍未办结，请求加快办理。", None, 1),
    t(Request, "dept_transport.bus", "{v}公交班次过少", "{v}到县城的公交车每天仅两班，村民就医和赶集不便，建议增加班次。", None, 50),
    t(Hazard, "safety.buildings", "{v}一处危房存在倒塌风险", "网格员巡查发现{v}一栋无人居住的老旧土坯房墙体开裂倾斜，紧邻村道，存在倒塌风险。", None, 1),
    t(Hazard, "safety.fire", "{v}电动车楼道充电", "网格员巡查发现{v}居民楼楼道内多辆电动车飞线充电，堵塞消防通道，存在火灾隐患。", None, 10),
    t(Hazard, "safety.gas", "{v}餐馆液化气瓶违规存放", "网格员巡查发现{v}一家餐馆后厨存放多个液化气瓶，未安装报警装置。", None, 1),
];

pub const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "林", "高", "罗",
];

pub const GIVEN: &[&str] = &[
    "建国", "秀英", "桂兰", "志强", "丽娟", "海燕", "德明", "玉珍", "小军", "春花", "国平", "红梅",
    "立新", "凤英", "家宝", "文华", "明亮", "淑芬",
];

pub const MEDIATORS: &[&str] = &["陈调解员", "刘金牌调解员", "汪老支书", "方律师", "周所长"];

pub const AGREEMENTS: &[&str] = &[
    "一、双方确认争议事实；二、被申请人于本协议签订之日起十五日内一次性支付申请人人民币{m}元；三、双方就本纠纷再无其他争议。",
    "一、被申请人拆除越界部分围墙，恢复通道原状；二、拆除及恢复费用由被申请人承担；三、双方今后和睦相处，互不干涉。",
    "一、三名子女每人每月支付老人赡养费六百元，于每月五日前支付；二、老人住院费用由三名子女平均分担；三、由长子负责日常照料。",
];
