//! The demo city: 池州市 with two counties, their towns, villages and grids,
//! and the handling bodies a real centre would route to.

use jiefen_domain::access::{Post, Role, Username};
use jiefen_domain::body::{Body, BodyCode, BodyKind};
use jiefen_domain::jurisdiction::{Jurisdiction, JurisdictionCode, Level};
use jiefen_domain::taxonomy::CategoryCode;

pub const CITY: &str = "341700";

struct Town {
    code: &'static str,
    name: &'static str,
    villages: &'static [&'static str],
}

struct County {
    code: &'static str,
    name: &'static str,
    towns: &'static [Town],
}

const COUNTIES: &[County] = &[
    County {
        code: "341721",
        name: "东至县",
        towns: &[
            Town {
                code: "341721100",
                name: "尧渡镇",
                villages: &["城东社区", "城西社区", "花园村", "建新村"],
            },
            Town {
                code: "341721101",
                name: "东流镇",
                villages: &["东流社区", "菊江村", "兰溪村"],
            },
            Town {
                code: "341721102",
                name: "大渡口镇",
                villages: &["大渡口社区", "七里湖村", "红旗村"],
            },
            Town {
                code: "341721103",
                name: "胜利镇",
                villages: &["胜利社区", "联合村"],
            },
        ],
    },
    County {
        code: "341702",
        name: "贵池区",
        towns: &[
            Town {
                code: "341702001",
                name: "池阳街道",
                villages: &["池阳社区", "长江社区", "杏村社区"],
            },
            Town {
                code: "341702002",
                name: "秋浦街道",
                villages: &["秋浦社区", "清风社区", "平天湖社区"],
            },
            Town {
                code: "341702100",
                name: "梅街镇",
                villages: &["梅街社区", "源溪村"],
            },
            Town {
                code: "341702101",
                name: "牛头山镇",
                villages: &["牛头山社区", "新河村"],
            },
        ],
    },
];

fn code(s: &str) -> JurisdictionCode {
    JurisdictionCode::parse(s).expect("demo codes are valid")
}

fn node(c: &str, name: &str, level: Level, parent: Option<&str>) -> Jurisdiction {
    Jurisdiction {
        code: code(c),
        name: name.to_owned(),
        level,
        parent: parent.map(code),
    }
}

fn body(c: String, name: String, kind: BodyKind, j: &str, cats: &[&str]) -> Body {
    Body {
        code: BodyCode::parse(&c).expect("demo body codes are valid"),
        name,
        kind,
        jurisdiction: code(j),
        categories: cats
            .iter()
            .map(|c| CategoryCode::parse(c).expect("demo categories are valid"))
            .collect(),
    }
}

const LOCAL_DISPUTES: &[&str] = &[
    "marriage_family",
    "neighbourhood",
    "property_mgmt",
    "land",
    "consumer",
    "contract_debt",
    "damages",
    "environment",
    "other",
];

/// The tree and the bodies. Village codes are the town's 9 digits plus a
/// 3-digit serial (statistical division style); grids are `village-Gnn`.
pub fn city() -> (Vec<Jurisdiction>, Vec<Body>) {
    let mut nodes = vec![node(CITY, "池州市", Level::City, None)];
    let mut bodies = vec![
        body(
            "C-PETITION".into(),
            "池州市信访局".into(),
            BodyKind::PetitionBureau,
            CITY,
            &[
                "marriage_family",
                "neighbourhood",
                "property_mgmt",
                "labour",
                "medical",
                "land",
                "consumer",
                "environment",
                "enterprise",
                "other",
                "dept_housing",
                "dept_environment",
                "dept_labour",
            ],
        ),
        body(
            "C-MEDICAL".into(),
            "池州市医疗纠纷人民调解委员会".into(),
            BodyKind::MedicalMediation,
            CITY,
            &["medical"],
        ),
        body(
            "C-CENTRE".into(),
            "池州市社会治理综合服务中心".into(),
            BodyKind::Centre,
            CITY,
            &["other", "enterprise", "land"],
        ),
    ];
    for county in COUNTIES {
        nodes.push(node(county.code, county.name, Level::County, Some(CITY)));
        let c = county.code;
        let n = county.name;
        bodies.extend([
            body(
                format!("{c}-FAMILY"),
                format!("{n}婚姻家庭纠纷人民调解委员会"),
                BodyKind::FamilyMediation,
                c,
                &["marriage_family"],
            ),
            body(
                format!("{c}-PROPERTY"),
                format!("{n}物业纠纷人民调解委员会"),
                BodyKind::PropertyMediation,
                c,
                &["property_mgmt"],
            ),
            body(
                format!("{c}-LABOUR"),
                format!("{n}劳动人事争议调解中心"),
                BodyKind::LabourMediation,
                c,
                &["labour"],
            ),
            body(
                format!("{c}-TRAFFIC"),
                format!("{n}道路交通事故纠纷人民调解委员会"),
                BodyKind::TrafficMediation,
                c,
                &["traffic"],
            ),
            body(
                format!("{c}-INSPECT"),
                format!("{n}劳动保障监察大队"),
                BodyKind::LabourInspection,
                c,
                &["labour", "dept_labour"],
            ),
            body(
                format!("{c}-PETITION"),
                format!("{n}信访局"),
                BodyKind::PetitionBureau,
                c,
                &[
                    "marriage_family",
                    "neighbourhood",
                    "property_mgmt",
                    "labour",
                    "medical",
                    "land",
                    "consumer",
                    "environment",
                    "enterprise",
                    "other",
                ],
            ),
            body(
                format!("{c}-COURT"),
                format!("{n}人民法院诉前调解中心"),
                BodyKind::PeoplesTribunal,
                c,
                &["contract_debt", "damages", "traffic", "enterprise"],
            ),
            body(
                format!("{c}-LEGALAID"),
                format!("{n}法律援助中心"),
                BodyKind::LegalAid,
                c,
                &["labour", "damages", "marriage_family"],
            ),
            body(
                format!("{c}-HOUSING"),
                format!("{n}住房和城乡建设局"),
                BodyKind::GovernmentDepartment,
                c,
                &["dept_housing"],
            ),
            body(
                format!("{c}-ECO"),
                format!("{n}生态环境分局"),
                BodyKind::GovernmentDepartment,
                c,
                &["dept_environment", "environment"],
            ),
            body(
                format!("{c}-TRANSPORT"),
                format!("{n}交通运输局"),
                BodyKind::GovernmentDepartment,
                c,
                &["dept_transport"],
            ),
            body(
                format!("{c}-EDU"),
                format!("{n}教育体育局"),
                BodyKind::GovernmentDepartment,
                c,
                &["dept_education"],
            ),
            body(
                format!("{c}-HRSS"),
                format!("{n}人力资源和社会保障局"),
                BodyKind::GovernmentDepartment,
                c,
                &["dept_labour"],
            ),
            body(
                format!("{c}-COMMERCE"),
                format!("{n}市场监督管理局"),
                BodyKind::GovernmentDepartment,
                c,
                &["dept_commerce", "consumer"],
            ),
            body(
                format!("{c}-HEALTH"),
                format!("{n}卫生健康委员会"),
                BodyKind::GovernmentDepartment,
                c,
                &["dept_health"],
            ),
            body(
                format!("{c}-SAFETY"),
                format!("{n}应急管理局"),
                BodyKind::GovernmentDepartment,
                c,
                &["safety"],
            ),
        ]);
        for town in county.towns {
            nodes.push(node(town.code, town.name, Level::Town, Some(county.code)));
            let t = town.code;
            let tn = town.name;
            bodies.extend([
                body(
                    format!("{t}-MEDIATION"),
                    format!("{tn}人民调解委员会"),
                    BodyKind::PeoplesMediation,
                    t,
                    LOCAL_DISPUTES,
                ),
                body(
                    format!("{t}-JUSTICE"),
                    format!("{tn}司法所"),
                    BodyKind::JusticeOffice,
                    t,
                    &[
                        "marriage_family",
                        "neighbourhood",
                        "land",
                        "contract_debt",
                        "damages",
                        "labour",
                        "other",
                    ],
                ),
                body(
                    format!("{t}-POLICE"),
                    format!("{tn}派出所警民联调室"),
                    BodyKind::PoliceStation,
                    t,
                    &["neighbourhood", "damages", "traffic", "marriage_family"],
                ),
                body(
                    format!("{t}-CENTRE"),
                    format!("{tn}综治中心"),
                    BodyKind::Centre,
                    t,
                    &[
                        "safety",
                        "environment",
                        "other",
                        "dept_housing",
                        "dept_environment",
                    ],
                ),
            ]);
            for (i, v) in town.villages.iter().enumerate() {
                let vc = format!("{t}{:03}", 201 + i);
                nodes.push(node(&vc, v, Level::Village, Some(t)));
                bodies.push(body(
                    format!("{vc}-MEDIATION"),
                    format!("{tn}{v}人民调解委员会"),
                    BodyKind::PeoplesMediation,
                    &vc,
                    &[
                        "marriage_family",
                        "neighbourhood",
                        "land",
                        "property_mgmt",
                        "other",
                    ],
                ));
                for g in 1..=3 {
                    let gc = format!("{vc}-G{g:02}");
                    nodes.push(node(&gc, &format!("{v}第{g}网格"), Level::Grid, Some(&vc)));
                }
            }
        }
    }
    (nodes, bodies)
}

/// Codes of every village, for placing demo cases.
pub fn villages() -> Vec<String> {
    city()
        .0
        .into_iter()
        .filter(|j| j.level == Level::Village)
        .map(|j| j.code.to_string())
        .collect()
}

/// The grid of the demo's grid worker, and the worker.
pub const DEMO_GRID: &str = "341721100201-G01";
pub const DEMO_GRID_WORKER: &str = "grid.yaodu";
/// The town's mediation committee and its demo handler.
pub const DEMO_MEDIATION: &str = "341721100-MEDIATION";
pub const DEMO_MEDIATOR: &str = "mediator.yaodu";

/// The demo's staff: one account per role, placed so each sees something
/// (the county of 东至县 and its town 尧渡镇).
pub fn staff() -> Vec<(Username, &'static str, Post)> {
    let (nodes, _) = city();
    let grid = nodes
        .iter()
        .find(|n| n.level == Level::Grid && n.code.as_str() == DEMO_GRID)
        .map(|n| n.code.clone())
        .expect("the demo town has the demo grid");
    let town = code("341721100");
    let county = code("341721");
    let city_code = code(CITY);
    let mediation = BodyCode::parse(DEMO_MEDIATION).expect("valid");
    let post = |role, at: &JurisdictionCode, body: Option<BodyCode>| {
        Post::new(role, at.clone(), body).expect("demo posts are consistent")
    };
    let name = |s: &str| Username::parse(s).expect("valid");
    vec![
        (
            name("clerk.yaodu"),
            "尧渡镇登记员",
            post(Role::IntakeClerk, &town, None),
        ),
        (
            name(DEMO_MEDIATOR),
            "尧渡镇调解员",
            post(Role::Handler, &town, Some(mediation)),
        ),
        (
            name("supervisor.dongzhi"),
            "东至县中心主管",
            post(Role::Supervisor, &county, None),
        ),
        (
            name("leader.dongzhi"),
            "东至县分管领导",
            post(Role::Leader, &county, None),
        ),
        (
            name(DEMO_GRID_WORKER),
            "尧渡镇网格员",
            post(Role::GridWorker, &grid, None),
        ),
        (
            name("assessor.dongzhi"),
            "东至县评估员",
            post(Role::Assessor, &county, None),
        ),
        (
            name("admin"),
            "系统管理员",
            post(Role::Administrator, &city_code, None),
        ),
        (
            name("auditor"),
            "审计员",
            post(Role::Auditor, &city_code, None),
        ),
    ]
}
