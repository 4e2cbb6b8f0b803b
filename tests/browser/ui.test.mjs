// The web UI in a real browser (issue 6). Each test drives Debian's Chromium
// against a real server with the demo city.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { startServer, launch, apiSession, signIn, capture } from "./harness.mjs";

let server, browser;
before(async () => { server = await startServer(); browser = await launch(); });
after(async () => { await browser?.close(); await server?.stop(); });

const VILLAGE = "341721100201"; // 城东社区, 尧渡镇
const APPLICANT_ID = "11010519491231002X";

test("a clerk registers a walk-in and sees suggestions and a repeat warning", async () => {
  const clerk = server.creds["clerk.yaodu"];
  // An earlier case of the same person, about the same wall.
  const api = await apiSession(server.base, "clerk.yaodu", clerk.password);
  const earlier = await api("POST", "/api/v1/cases", { case: {
    kind: "dispute", channel: "walk_in", category: "neighbourhood.boundary",
    title: "邻居新砌围墙占用共用通道", description: "申请人称邻居张某新砌围墙占用两家共用的通道，出入困难，要求拆除。",
    jurisdiction: VILLAGE,
    parties: [{ role: "applicant", kind: "person", name: "王秀英", id_number: APPLICANT_ID, phone: "13812345678" }],
  } });
  assert.equal(earlier.status, 201, JSON.stringify(earlier.data));
  const earlierCase = (await api("GET", `/api/v1/cases/${earlier.data.case_id}`)).data;

  const page = await browser.newPage({ locale: "zh-CN" });
  await signIn(page, server.base, "clerk.yaodu", clerk.password, "/intake");
  assert.match(new URL(page.url()).pathname, /^\/intake$/);
  await page.selectOption("#kind", "dispute");
  await page.selectOption("#channel", "walk_in");
  await page.fill("#title", "邻居砌墙堵住通道又起争执");
  await page.fill("#description", "王秀英再次来访，称邻居张某砌的围墙仍占用两家共用通道，协商未果，双方发生争吵，要求拆除围墙恢复通行。");
  await page.selectOption("#jurisdiction", VILLAGE);
  await page.fill("#a_name", "王秀英");
  await page.fill("#a_id", "11010519491231002");
  await page.waitForSelector("#a_id_msg.bad");
  await page.fill("#a_id", APPLICANT_ID);
  await page.waitForSelector("#a_id_msg.ok");
  await page.fill("#a_phone", "13812345678");

  // The suggestions come as the clerk types; choosing one fills the category.
  const first = page.locator("[data-suggestions] button[data-category]").first();
  await first.waitFor();
  const suggested = await page.locator("[data-suggestions] button[data-category]").count();
  assert.ok(suggested >= 1 && suggested <= 3, `${suggested} suggestions`);
  await page.selectOption("#category", "neighbourhood.boundary");

  // The earlier case is named as a likely repeat, with why.
  const repeat = page.locator(`[data-repeats] li[data-repeat="${earlier.data.case_id}"]`);
  await page.waitForFunction((id) => {
    const li = document.querySelector(`[data-repeats] li[data-repeat="${id}"]`);
    return li && li.innerText.includes("同一");
  }, earlier.data.case_id);
  const why = await repeat.innerText();
  assert.ok(why.includes(earlierCase.number), why);
  assert.ok(why.includes("同一"), `no identity reason in: ${why}`);
  // And what registering would record.
  await page.locator("[data-registration] .badge").first().waitFor();
  const problems = await capture(page, "intake");

  await Promise.all([page.waitForURL(/\/receipt$/), page.click("#intake button[type=submit]")]);
  const code = (await page.locator("[data-receipt-code]").innerText()).trim();
  assert.ok(code.length >= 6, `receipt code ${code}`);
  problems.push(...await capture(page, "receipt"));

  await page.click("text=查看事项");
  await page.waitForURL(/\/cases\/[0-9a-f-]+$/);
  assert.ok(await page.locator(".badge.verified").isVisible(), "the history should verify");
  problems.push(...await capture(page, "case"));

  await page.goto(`${server.base}/cases?q=${encodeURIComponent("围墙 通道")}`);
  const rows = await page.locator("table.cases tbody tr").count();
  assert.ok(rows >= 2, `${rows} rows for the search`);
  problems.push(...await capture(page, "queue"));
  assert.deepEqual(problems, []);
  await page.close();
});

test("a handler from another town cannot open the case by URL", async () => {
  const admin = await apiSession(server.base, "admin", server.creds.admin.password);
  const password = "another-town-handler-pass";
  const made = await admin("POST", "/api/v1/users", {
    username: "mediator.dongliu", role: "handler", jurisdiction: "341721101",
    body: "341721101-MEDIATION", password,
  });
  assert.equal(made.status, 201, JSON.stringify(made.data));
  const clerk = await apiSession(server.base, "clerk.yaodu", server.creds["clerk.yaodu"].password);
  const created = await clerk("POST", "/api/v1/cases", { case: {
    kind: "request", channel: "phone", category: "dept_housing.roads",
    title: "小区停水三天无人处理", description: "城东社区多栋楼停水三天，物业称在维修，至今未恢复。", jurisdiction: VILLAGE,
  } });
  assert.equal(created.status, 201, JSON.stringify(created.data));

  const page = await browser.newPage();
  await signIn(page, server.base, "mediator.dongliu", password);
  const res = await page.goto(`${server.base}/cases/${created.data.case_id}`);
  assert.equal(res.status(), 404);
  assert.ok(!(await page.content()).includes("小区停水三天"), "the case's title must not show");
  // A page for a person, not the API's JSON.
  assert.match(res.headers()["content-type"], /^text\/html/);
  assert.ok((await page.locator("main").innerText()).includes("没有找到该事项"));
  // Their own town's handler can.
  const own = await browser.newPage();
  await signIn(own, server.base, "mediator.yaodu", server.creds["mediator.yaodu"].password);
  const mine = await own.goto(`${server.base}/cases/${created.data.case_id}`);
  assert.ok([200, 404].includes(mine.status()));
  await page.close();
  await own.close();
});

/// A new dispute in 尧渡镇, accepted and assigned to the town's mediation
/// committee, where mediator.yaodu works: set up through the API.
async function assignedDispute(title, description, dueAt) {
  const clerk = await apiSession(server.base, "clerk.yaodu", server.creds["clerk.yaodu"].password);
  const created = await clerk("POST", "/api/v1/cases", { case: {
    kind: "dispute", channel: "walk_in", category: "neighbourhood.boundary", title, description,
    jurisdiction: VILLAGE,
    parties: [
      { role: "applicant", kind: "person", name: "李桂兰", phone: "13955667788" },
      { role: "respondent", kind: "person", name: "赵德明" },
    ],
  } });
  assert.equal(created.status, 201, JSON.stringify(created.data));
  const id = created.data.case_id;
  const assign = { type: "assign", body: "341721100-MEDIATION", reason: "双方均在尧渡镇，由镇调委会调解" };
  if (dueAt) assign.due_at = dueAt;
  for (const action of [{ type: "accept" }, assign]) {
    const r = await clerk("POST", `/api/v1/cases/${id}/actions`, { action });
    assert.equal(r.status, 200, JSON.stringify(r.data));
  }
  return { id, receipt: created.data.receipt_code, clerk };
}

/// Submits one of the case page's action forms and waits for the page to
/// show the event it recorded.
async function act(page, action, fill) {
  const form = page.locator(`form[data-action="${action}"]`);
  const details = form.locator("xpath=..");
  if (!(await details.getAttribute("open") !== null)) await details.locator("summary").click();
  if (fill) await fill(form);
  const before = await page.locator(".timeline li").count();
  await form.locator("button[type=submit]").click();
  await page.waitForFunction((n) => document.querySelectorAll(".timeline li").length > n, before);
}

test("a handler signs for a case, records a mediation, concludes with an agreement and downloads the PDF", async () => {
  const { id } = await assignedDispute("两户因排水沟改道发生纠纷",
    "李桂兰称邻居赵德明将排水沟改道至其宅基地一侧，雨天积水进屋，多次协商未果。");
  const page = await browser.newPage({ locale: "zh-CN", acceptDownloads: true });
  await signIn(page, server.base, "mediator.yaodu", server.creds["mediator.yaodu"].password, `/cases/${id}`);
  await page.waitForURL(new RegExp(`/cases/${id}$`));
  // Only what a handler may do with an assigned case is offered.
  const offered = await page.locator("form[data-action]").evaluateAll((fs) => fs.map((f) => f.dataset.action));
  assert.deepEqual(offered.sort(), ["note", "return", "sign_for"], `offered: ${offered}`);
  const problems = await capture(page, "case-assigned");

  await act(page, "sign_for");
  assert.ok(await page.locator(".badge.state-in_progress").isVisible(), "signed for: in progress");
  await act(page, "mediation_session", async (f) => {
    await f.locator("[name=mediators]").fill("刘明华\n陈静");
    await f.locator("[name=place]").fill("尧渡镇人民调解委员会调解室");
    await f.locator("[name=summary]").fill("双方到场，现场查看排水沟走向，赵德明同意恢复原走向。");
  });
  // A mediated conclusion needs the agreement: its fields appear with the outcome.
  await act(page, "conclude", async (f) => {
    assert.ok(await f.locator("[data-when]").first().isHidden());
    await f.locator("[name=outcome]").selectOption("mediated");
    await f.locator("[name=summary]").fill("经调解双方达成协议。");
    await f.locator("[name='agreement.text']").fill("一、赵德明于2026年12月10日前将排水沟恢复原走向，费用由其承担；\n二、李桂兰不再追究积水损失；\n三、双方今后和睦相处。");
    await f.locator("[name='agreement.judicial_confirmation']").check();
  });
  assert.ok(await page.locator(".badge.state-concluded").isVisible(), "concluded");
  assert.ok(await page.locator(".badge.verified").isVisible(), "the history still verifies");
  problems.push(...await capture(page, "case-concluded"));

  // The printable agreement, with the parties in full and the chain's hash.
  const history = (await (await apiSession(server.base, "mediator.yaodu", server.creds["mediator.yaodu"].password))("GET", `/api/v1/cases/${id}/history`)).data;
  const head = history.events[history.events.length - 1].hash;
  await page.click(`a[href="/cases/${id}/agreement"]`);
  await page.waitForURL(/\/agreement$/);
  const text = await page.locator("article.agreement").innerText();
  for (const want of ["人民调解协议书", "李桂兰", "赵德明", "刘明华", "恢复原走向", "司法确认", head]) {
    assert.ok(text.includes(want), `the agreement lacks ${want}`);
  }
  problems.push(...await capture(page, "agreement"));

  // The PDF: a Chinese font embedded, the same words and hash inside.
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("a[href$='agreement.pdf']")]);
  const file = await download.path();
  const bytes = readFileSync(file);
  assert.equal(bytes.subarray(0, 5).toString(), "%PDF-");
  const extracted = execFileSync("pdftotext", ["-enc", "UTF-8", file, "-"]).toString().replace(/\s+/g, "");
  for (const want of ["人民调解协议书", "李桂兰", "赵德明", "恢复原走向", head]) {
    assert.ok(extracted.includes(want), `the PDF lacks ${want}: ${extracted.slice(0, 300)}`);
  }
  const fonts = execFileSync("pdffonts", [file]).toString();
  assert.match(fonts, /Droid|WenQuanYi|Noto|uming/i, fonts);
  assert.match(fonts, /\byes\s+yes\b/, `the font must be embedded and subset:\n${fonts}`);
  assert.deepEqual(problems, []);
  await page.close();
});

test("a supervisor sees an overdue case escalate after the clock is moved, and supervises it from the board", async () => {
  // A hand-set deadline a day out, so a few days' move makes it overdue.
  const { id } = await assignedDispute("养殖场异味纠纷久拖未决",
    "村民反映邻近养殖场异味严重，影响生活，多次协商无果。", new Date(Date.now() + 24 * 3600000).toISOString());
  // Another, sent back by the committee: the board lists it as returned.
  const back = await assignedDispute("宅基地边界纠纷需重新交办",
    "两户宅基地边界争议涉及土地确权，镇调委会认为应由自然资源部门处理。");
  const mediator = await apiSession(server.base, "mediator.yaodu", server.creds["mediator.yaodu"].password);
  const returned = await mediator("POST", `/api/v1/cases/${back.id}/actions`,
    { action: { type: "return", reason: "涉及土地确权，不属调委会受理范围" } });
  assert.equal(returned.status, 200, JSON.stringify(returned.data));
  const page = await browser.newPage({ locale: "zh-CN" });
  await signIn(page, server.base, "supervisor.dongzhi", server.creds["supervisor.dongzhi"].password);
  assert.match(new URL(page.url()).pathname, /^\/board$/, "a supervisor starts on the board");
  const sentBack = page.locator(`[data-section="returned"] li[data-case="${back.id}"]`);
  assert.ok((await sentBack.innerText()).includes("涉及土地确权"), "the returned row shows who sent it back and why");
  assert.equal(await page.locator(`[data-section="unassigned"] li[data-case="${back.id}"]`).count(), 0,
    "a returned case is not also listed as waiting for its first assignment");
  const row = page.locator(`[data-section] li[data-case="${id}"]`);
  assert.equal(await page.locator(`[data-section="overdue"] li[data-case="${id}"]`).count(), 0, "not overdue yet");

  const admin = await apiSession(server.base, "admin", server.creds.admin.password);
  // Four days overdue: past the ladder's first step (three days).
  const moved = await admin("POST", "/api/v1/engine/clock", { advance_hours: 5 * 24 });
  assert.equal(moved.status, 200, JSON.stringify(moved.data));
  assert.ok(moved.data.tick.escalations >= 1, JSON.stringify(moved.data.tick));

  // Five days on, the session has lapsed like any idle one: sign in again.
  await signIn(page, server.base, "supervisor.dongzhi", server.creds["supervisor.dongzhi"].password, "/board");
  const problems = await capture(page, "board");
  // Narrowed to the body handling it, from the board's own tally.
  await page.click('table.tally a[href="/board?body=341721100-MEDIATION"]');
  await page.waitForURL(/body=341721100-MEDIATION/);
  await row.first().waitFor();
  const text = await row.first().innerText();
  assert.ok(text.includes("已提级"), `the board should show the escalation: ${text}`);
  const supervisor = await apiSession(server.base, "supervisor.dongzhi", server.creds["supervisor.dongzhi"].password);
  const after = (await supervisor("GET", `/api/v1/cases/${id}`)).data;
  assert.equal(after.deadline_signal, "overdue");
  assert.ok(after.escalations >= 1, JSON.stringify(after.escalations));

  // Supervise from the board.
  const form = row.first().locator('form[data-action="supervise"]');
  await form.locator("xpath=..").locator("summary").click();
  await form.locator("[name=note]").fill("请县司法局三日内提出处理意见。");
  await form.locator("[name=listed]").check();
  await form.locator("button[type=submit]").click();
  await page.waitForFunction((id) => {
    const li = document.querySelector(`[data-section] li[data-case="${id}"]`);
    return li && li.innerText.includes("挂牌督办");
  }, id);
  const history = (await supervisor("GET", `/api/v1/cases/${id}/history`)).data.events.map((e) => e.type);
  assert.ok(history.includes("auto_escalated") && history.includes("supervised"), history.join(","));
  assert.deepEqual(problems, []);
  await page.close();
});

test("a citizen brings a matter on a phone, follows it by receipt code and rates it", async () => {
  const page = await browser.newPage({ locale: "zh-CN", viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true });
  await page.goto(`${server.base}/portal`);
  const problems = await capture(page, "portal");
  await page.setViewportSize({ width: 360, height: 740 });
  await page.click('a[href="/portal/submit"]');
  await page.waitForURL(/\/portal\/submit$/);
  await page.selectOption("#category", "neighbourhood.boundary");
  await page.fill("#title", "邻居堆放杂物堵住消防通道");
  await page.fill("#description", "城东社区3栋邻居长期在楼道和消防通道堆放杂物，多次劝说无果，存在火灾隐患，请求协调清理。");
  await page.selectOption("#jurisdiction", VILLAGE);
  await page.fill("#name", "周玉梅");
  await page.fill("#phone", "1391234");
  await page.waitForSelector("#phone_msg.bad");
  await page.fill("#phone", "13912348765");
  await page.waitForSelector("#phone_msg.ok");
  problems.push(...await capture(page, "portal-submit"));
  await page.setViewportSize({ width: 360, height: 740 });
  await Promise.all([page.waitForURL(/\/portal\/track$/), page.click("#portal-submit button[type=submit]")]);
  const code = (await page.locator("[data-receipt-code]").innerText()).trim();
  assert.match(code, /^[A-Z0-9]{10}$/);
  const number = (await page.locator("[data-number]").innerText()).trim();
  assert.ok((await page.locator("[data-state]").getAttribute("data-state")) === "registered");
  problems.push(...await capture(page, "portal-received"));

  // Staff take it up and answer it, through the API.
  const clerk = await apiSession(server.base, "clerk.yaodu", server.creds["clerk.yaodu"].password);
  const listed = await clerk("GET", `/api/v1/cases?jurisdiction=${VILLAGE}&state=registered&limit=200`);
  const found = listed.data.items.find((c) => c.number === number);
  assert.ok(found, `the clerk's list should hold ${number}`);
  for (const action of [{ type: "accept" }, { type: "assign", body: "341721100-MEDIATION", reason: "邻里纠纷，由镇调委会调解" }]) {
    const r = await clerk("POST", `/api/v1/cases/${found.id}/actions`, { action });
    assert.equal(r.status, 200, JSON.stringify(r.data));
  }
  const mediator = await apiSession(server.base, "mediator.yaodu", server.creds["mediator.yaodu"].password);
  for (const action of [{ type: "sign_for" }, { type: "conclude", outcome: "answered", summary: "已上门协调，邻居于三日内清理完毕，消防通道已畅通。" }]) {
    const r = await mediator("POST", `/api/v1/cases/${found.id}/actions`, { action });
    assert.equal(r.status, 200, JSON.stringify(r.data));
  }

  // Wrong digits get the one refusal, without saying which part was wrong.
  await page.goto(`${server.base}/portal`);
  await page.fill("#receipt_code", code.toLowerCase());
  await page.fill("#phone_last4", "0000");
  await Promise.all([page.waitForURL(/\/portal\/track$/), page.click("#portal-track button[type=submit]")]);
  assert.ok((await page.locator("[role=alert]").innerText()).includes("不正确"));
  await page.fill("#phone_last4", "8765");
  await Promise.all([page.waitForNavigation(), page.click("#portal-track button[type=submit]")]);
  assert.equal(await page.locator("[data-state]").getAttribute("data-state"), "concluded");
  const answer = await page.locator("[data-answer]").innerText();
  assert.ok(answer.includes("消防通道已畅通"), answer);
  assert.ok(answer.includes("已答复"), answer);
  assert.ok(!(await page.content()).includes("mediator.yaodu"), "no staff names for the citizen");
  problems.push(...await capture(page, "portal-answered"));
  await page.setViewportSize({ width: 360, height: 740 });

  // Rate it: the page comes back showing the rating, and the case records it.
  const rate = page.locator('form[data-portal="rate"]');
  await rate.locator('input[value="basically_satisfied"]').check();
  await rate.locator("[name=comment]").fill("处理及时，谢谢。");
  await Promise.all([page.waitForNavigation(), rate.locator("button[type=submit]").click()]);
  assert.equal(await page.locator("[data-state]").getAttribute("data-state"), "followed_up");
  assert.ok((await page.locator("[data-rated]").innerText()).includes("基本满意"));
  assert.equal(await page.locator('form[data-portal="rate"]').count(), 0, "rated once only");
  const after = (await clerk("GET", `/api/v1/cases/${found.id}`)).data;
  assert.equal(after.follow_up.satisfaction, "basically_satisfied");
  assert.equal(after.follow_up.note, "处理及时，谢谢。");
  // A review can still be asked for.
  assert.equal(await page.locator('form[data-portal="review"]').count(), 1);
  assert.deepEqual(problems, []);
  await page.close();
});

test("a leader's dashboard figure clicks through to exactly the cases behind it", async () => {
  const page = await browser.newPage({ locale: "zh-CN" });
  await signIn(page, server.base, "leader.dongzhi", server.creds["leader.dongzhi"].password);
  assert.match(new URL(page.url()).pathname, /^\/dashboard$/, "a leader starts on the dashboard");
  await page.locator("[data-hotspot-list] li, #hotspots p.muted:not(.small)").first().waitFor();
  const problems = await capture(page, "dashboard");
  const registered = Number(await page.locator('[data-figure="registered"] .n').innerText());
  assert.ok(registered > 0, "the demo city has cases this year");

  // A category's resolved cases: the row's second figure.
  const links = page.locator('[data-table="category"] tbody tr td:nth-child(3) a');
  let chosen = null;
  for (let i = 0; i < await links.count(); i++) {
    const n = Number(await links.nth(i).innerText());
    if (n >= 1 && n <= 30) { chosen = { link: links.nth(i), n }; break; }
  }
  assert.ok(chosen, "some category has between 1 and 30 resolved cases");
  const href = await chosen.link.getAttribute("href");
  assert.match(href, /resolved=true/);
  assert.match(href, /category=/);
  await Promise.all([page.waitForURL(/\/cases\?/), chosen.link.click()]);
  const rows = await page.locator("table.cases tbody tr").count();
  assert.equal(rows, chosen.n, `the figure said ${chosen.n}, the queue lists ${rows}`);
  assert.equal(await page.locator("a[data-next]").count(), 0, "and no more on another page");
  // Every case listed is resolved: 已办结 or 已回访.
  const states = await page.locator("table.cases tbody tr .badge[class*=state-]").evaluateAll((b) => b.map((x) => x.className));
  assert.ok(states.every((s) => /state-(concluded|followed_up|archived)/.test(s)), states.join(","));
  problems.push(...await capture(page, "dashboard-cases"));

  // The same through the API: the figure's own query lists as many.
  const leader = await apiSession(server.base, "leader.dongzhi", server.creds["leader.dongzhi"].password);
  const api = await leader("GET", `/api/v1/cases?${href.split("?")[1]}&limit=200`);
  assert.equal(api.status, 200, JSON.stringify(api.data));
  assert.equal(api.data.items.length, chosen.n);

  // The overdue card lists exactly the overdue cases counted.
  await page.goto(`${server.base}/dashboard`);
  const overdue = Number(await page.locator('[data-figure="overdue"] .n').innerText());
  const overdueHref = await page.locator('[data-figure="overdue"]').getAttribute("href");
  const listed = await leader("GET", `/api/v1/cases?${overdueHref.split("?")[1]}&limit=200`);
  assert.equal(listed.data.items.length, overdue);
  assert.ok(listed.data.items.every((c) => c.deadline_signal === "overdue"));
  assert.deepEqual(problems, []);
  await page.close();
});

test("a grid worker reports a hazard from a phone with a photo and the location, and sees it among their own reports", async () => {
  const GRID = "341721100201-G01";
  // Registered in the same grid by a clerk: in the worker's grid, but not their report.
  const clerk = await apiSession(server.base, "clerk.yaodu", server.creds["clerk.yaodu"].password);
  const other = await clerk("POST", "/api/v1/cases", { case: {
    kind: "hazard", channel: "phone", category: "dept_transport.road_safety",
    title: "路口信号灯损坏无人修理", description: "城东社区路口信号灯损坏一周，车辆通行混乱。", jurisdiction: GRID,
  } });
  assert.equal(other.status, 201, JSON.stringify(other.data));

  const context = await browser.newContext({
    viewport: { width: 360, height: 740 }, locale: "zh-CN",
    geolocation: { latitude: 30.097121, longitude: 117.023456, accuracy: 12 }, permissions: ["geolocation"],
  });
  const page = await context.newPage();
  await signIn(page, server.base, "grid.yaodu", server.creds["grid.yaodu"].password);
  assert.equal(new URL(page.url()).pathname, "/grid", "a grid worker starts on the grid page");
  const listed = async () => page.locator("[data-mine] li a").allInnerTexts();
  assert.ok(!(await listed()).includes("路口信号灯损坏无人修理"), "a clerk's case is not the worker's report");

  // A dispute needs the person who brings it: the form says so before sending.
  await page.check('input[name=kind][value=dispute]');
  assert.ok(await page.isVisible("#a_name"));
  await page.fill("#title", "两户因占道堆放杂物争吵");
  await page.fill("#description", "城东社区两户村民因一方在巷道堆放杂物发生争吵，需调解。");
  await page.click("#grid-report button[type=submit]");
  assert.ok((await page.locator("#grid-report [data-error]").innerText()).length > 0);

  // The hazard, with the phone's location and a photo.
  await page.check('input[name=kind][value=hazard]');
  assert.ok(!(await page.isVisible("#a_name")), "no parties for a hazard");
  await page.selectOption("#category", "dept_transport.road_safety");
  await page.fill("#title", "村道边坡塌方威胁行人安全");
  await page.fill("#description", "城东社区村道东侧边坡昨夜大雨后塌方约五米，碎石滚落路面，行人和电动车经过有危险。");
  await page.fill("#address", "村道东段，村委会往东约200米");
  await page.fill("#people", "30");
  await page.click("[data-locate]");
  await page.waitForFunction(() => document.querySelector("[data-located]").textContent.includes("30.09712"));
  // The smallest valid PNG: one transparent pixel.
  const png = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==", "base64");
  await page.setInputFiles("#photos", { name: "塌方现场.png", mimeType: "image/png", buffer: png });
  await Promise.all([page.waitForURL(/\/grid\?reported=/), page.click("#grid-report button[type=submit]")]);
  const id = new URL(page.url()).searchParams.get("reported");
  assert.ok((await page.locator(`[data-reported="${id}"]`).innerText()).includes("已上报"));
  const mine = await listed();
  assert.ok(mine.includes("村道边坡塌方威胁行人安全"), mine.join(" | "));
  assert.ok(!mine.includes("路口信号灯损坏无人修理"), mine.join(" | "));

  // What was recorded: a grid report in the worker's grid, with the place and the photo.
  const grid = await apiSession(server.base, "grid.yaodu", server.creds["grid.yaodu"].password);
  const c = (await grid("GET", `/api/v1/cases/${id}`)).data;
  assert.equal(c.channel, "grid_report");
  assert.equal(c.kind, "hazard");
  assert.equal(c.registered_by, "grid.yaodu");
  assert.equal(c.people_involved, 30);
  assert.deepEqual(c.location.coordinates, { lat_e6: 30097121, lon_e6: 117023456 });
  assert.equal(c.location.jurisdiction, GRID);
  assert.equal(c.attachments.length, 1, JSON.stringify(c.attachments));
  assert.equal(c.attachments[0].media_type, "image/png");
  // Every listed report is the worker's own, as the API's filter says.
  const own = (await grid("GET", "/api/v1/cases?registered_by=grid.yaodu&limit=200")).data.items;
  assert.ok(own.every((x) => x.registered_by === "grid.yaodu") && own.some((x) => x.id === id));
  assert.equal(mine.length, Math.min(own.length, 20));
  // Outside the worker's grid, the server refuses whatever the page offers.
  const elsewhere = await grid("POST", "/api/v1/cases", { case: {
    kind: "hazard", channel: "grid_report", category: "dept_transport.road_safety",
    title: "邻村道路塌方", description: "邻村道路塌方。", jurisdiction: "341721100202",
  } });
  assert.equal(elsewhere.status, 403, JSON.stringify(elsewhere.data));

  const problems = await capture(page, "grid");
  assert.deepEqual(problems, []);
  await context.close();
});

test("an administrator manages accounts and tokens and checks a policy; an auditor reads and verifies the security log", async () => {
  const page = await browser.newPage({ locale: "zh-CN" });
  page.on("dialog", (d) => d.accept());
  await signIn(page, server.base, "admin", server.creds.admin.password);
  assert.equal(new URL(page.url()).pathname, "/admin", "an administrator starts on administration");
  assert.equal(await page.locator('tr[data-user="clerk.yaodu"]').count(), 1);
  const problems = await capture(page, "admin");

  // A new clerk: the generated password is shown once and works.
  await page.fill("#nu_username", "clerk.dongliu");
  await page.fill("#nu_display", "东流镇登记员");
  await page.selectOption("#nu_role", "intake_clerk");
  await page.selectOption("#nu_place", "341721101");
  await page.click("#add-user button[type=submit]");
  const secret = page.locator("[data-result-secret]");
  await secret.waitFor();
  const password = (await secret.innerText()).trim();
  assert.ok(password.length >= 12, password);
  await Promise.all([page.waitForLoadState("load"), page.click("[data-result-close]")]);
  await page.locator('tr[data-user="clerk.dongliu"]').waitFor();
  const clerk = await apiSession(server.base, "clerk.dongliu", password);
  assert.equal((await clerk("GET", "/api/v1/session")).data.jurisdiction, "341721101");

  // Disabled: signed out and refused.
  await Promise.all([page.waitForLoadState("load"), page.click('tr[data-user="clerk.dongliu"] button[data-admin=disable]')]);
  await page.locator('tr[data-user="clerk.dongliu"] button[data-admin=enable]').waitFor();
  assert.equal((await clerk("GET", "/api/v1/session")).status, 401);
  await assert.rejects(apiSession(server.base, "clerk.dongliu", password));

  // A token, shown once, works until revoked.
  await page.fill("#nt_user", "clerk.yaodu");
  await page.fill("#nt_name", "12345热线对接");
  await page.click("#add-token button[type=submit]");
  await secret.waitFor();
  const token = (await secret.innerText()).trim();
  assert.match(token, /^jf_/);
  const withToken = () => fetch(`${server.base}/api/v1/cases?limit=1`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal((await withToken()).status, 200);
  await Promise.all([page.waitForLoadState("load"), page.click("[data-result-close]")]);
  const row = page.locator("tr[data-token]", { hasText: "12345热线对接" });
  await Promise.all([page.waitForLoadState("load"), row.locator("button[data-admin=revoke]").click()]);
  await page.locator("tr[data-token]", { hasText: "12345热线对接" }).locator(".badge").waitFor();
  assert.equal((await withToken()).status, 401);

  // Reference data and the policy, checked by the server's own parser.
  await page.goto(`${server.base}/admin/reference`);
  for (const sel of ['tr[data-place="341721100201-G01"]', 'tr[data-body="341721100-MEDIATION"]', 'tr[data-category="neighbourhood.boundary"]']) {
    assert.equal(await page.locator(sel).count(), 1, sel);
  }
  problems.push(...await capture(page, "admin-reference"));
  await page.goto(`${server.base}/admin/policy`);
  assert.ok(await page.locator("#deadlines tbody tr").count() >= 4);
  const shipped = readFileSync(new URL("../../crates/domain/data/policy.toml", import.meta.url), "utf8");
  await page.fill("#policy_text", shipped);
  await page.click("#policy-check button[type=submit]");
  await page.locator("#policy-check [data-ok]:not([hidden])").waitFor();
  assert.match(await page.locator("#policy-check [data-ok]").innerText(), /有效/);
  // A mistake on a known line is shown with that line.
  const lines = shipped.split("\n");
  const at = lines.findIndex((l) => /^days = \d+/.test(l));
  assert.ok(at > 0, "the shipped policy has a days line");
  lines[at] = "days = 0";
  await page.fill("#policy_text", lines.join("\n"));
  await page.click("#policy-check button[type=submit]");
  await page.locator("#policy-check [data-error]:not([hidden])").waitFor();
  const refusal = await page.locator("#policy-check [data-error]").innerText();
  assert.ok(refusal.includes(`line ${at + 1}`), refusal);
  problems.push(...await capture(page, "admin-policy"));

  // The auditor sees what was done, and the chain verifies.
  const auditor = await browser.newPage({ locale: "zh-CN" });
  await signIn(auditor, server.base, "auditor", server.creds.auditor.password);
  assert.equal(new URL(auditor.url()).pathname, "/audit", "an auditor starts on the security log");
  const actions = await auditor.locator("tr[data-action]").evaluateAll((rows) => rows.map((r) => r.dataset.action));
  for (const a of ["user_added", "user_changed", "token_created", "token_revoked"]) assert.ok(actions.includes(a), `${a} in ${actions}`);
  await auditor.click("[data-verify-audit]");
  await auditor.waitForFunction(() => /日志完整/.test(document.querySelector("[data-verify-result]").textContent));
  await auditor.selectOption("#action", "token_revoked");
  await Promise.all([auditor.waitForURL(/action=token_revoked/), auditor.click(".filters button[type=submit]")]);
  const only = await auditor.locator("tr[data-action]").evaluateAll((rows) => rows.map((r) => r.dataset.action));
  assert.ok(only.length >= 1 && only.every((a) => a === "token_revoked"), only.join(","));
  problems.push(...await capture(auditor, "audit"));
  // The auditor cannot open administration, nor the admin the log.
  assert.equal((await auditor.goto(`${server.base}/admin`)).status(), 403);
  assert.equal((await page.goto(`${server.base}/audit`)).status(), 403);
  assert.deepEqual(problems, []);
  await auditor.close();
  await page.close();
});

test("a handler lists the cases they signed for, sees unread notices on the queue and marks them read; a queue sorted by deadline pages like the API", async () => {
  const { id } = await assignedDispute("两家商铺因门前停车位发生争执",
    "商户王建军称隔壁商户长期占用其门前停车位，双方多次争吵。");
  const password = server.creds["mediator.yaodu"].password;
  const api = await apiSession(server.base, "mediator.yaodu", password);
  const inboxes = ["staff:mediator.yaodu", "body:341721100-MEDIATION"];
  const unreadTotal = async () => {
    let n = 0;
    for (const r of inboxes) {
      const got = await api("GET", `/api/v1/inbox?recipient=${encodeURIComponent(r)}&unread=true&limit=1`);
      assert.equal(got.status, 200, JSON.stringify(got.data));
      n += got.data.unread.total;
    }
    return n;
  };
  const page = await browser.newPage({ locale: "zh-CN" });
  await signIn(page, server.base, "mediator.yaodu", password, "/cases");

  // The queue says how many notices are unread, as the API counts them,
  // and marks the new case's row with the notice's kind.
  const before = await unreadTotal();
  assert.ok(before > 0);
  assert.equal(Number(await page.locator("[data-unread]").getAttribute("data-unread")), before);
  const row = page.locator("tr", { has: page.locator(`a[href="/cases/${id}"]`) }).first();
  assert.match(await row.locator("[data-unread-row]").innerText(), /新交办/);

  // "Signed for by me" lists exactly the cases the API says this handler
  // signed for, and the body's tab all of the body's.
  await Promise.all([page.waitForURL(/handler=mediator.yaodu/), page.click("nav.subnav >> text=我签收的")]);
  const mine = await api("GET", "/api/v1/cases?handler=mediator.yaodu&limit=30");
  assert.ok(mine.data.items.length > 0, "the demo mediator signed for cases");
  assert.ok(mine.data.items.every((c) => c.handler === "mediator.yaodu"));
  const mineShown = await page.locator("table.cases tbody tr td:first-child a").evaluateAll(
    (as) => as.map((a) => a.getAttribute("href").split("/").pop()));
  assert.deepEqual(mineShown, mine.data.items.map((c) => c.id));
  assert.equal(await page.locator("nav.subnav [aria-current=page]").innerText(), "我签收的");
  const bodyWide = await api("GET", "/api/v1/cases?limit=200");
  assert.ok(bodyWide.data.items.length > mine.data.items.length, "the body has cases not signed for by this handler");

  // Sorted by deadline, page by page, the queue lists what the API lists
  // (a supervisor's county has pages of cases).
  const supervisor = await browser.newPage({ locale: "zh-CN" });
  const supPassword = server.creds["supervisor.dongzhi"].password;
  const supApi = await apiSession(server.base, "supervisor.dongzhi", supPassword);
  await signIn(supervisor, server.base, "supervisor.dongzhi", supPassword, "/cases");
  await supervisor.selectOption("#f_sort", "deadline");
  await Promise.all([supervisor.waitForURL(/sort=deadline/), supervisor.click(".filters button[type=submit]")]);
  const shown = async () => supervisor.locator("table.cases tbody tr td:first-child a").evaluateAll(
    (as) => as.map((a) => a.getAttribute("href").split("/").pop()));
  const first = await supApi("GET", "/api/v1/cases?sort=deadline&limit=30");
  assert.deepEqual(await shown(), first.data.items.map((c) => c.id));
  const dues = (await supervisor.locator("table.cases tbody tr td:nth-child(5)").allInnerTexts())
    .map((t) => (t.match(/\d{4}-\d{2}-\d{2}/) || [""])[0]);
  const running = dues.filter(Boolean);
  assert.ok(running.length > 1, "the page holds cases with running deadlines");
  assert.deepEqual([...running].sort(), running, "soonest deadline first");
  assert.deepEqual(dues.slice(0, running.length), running, "cases with none come after");
  assert.ok(first.data.next_cursor, "more than one page");
  await Promise.all([supervisor.waitForURL(/cursor=/), supervisor.click("[data-next]")]);
  const second = await supApi("GET", `/api/v1/cases?sort=deadline&limit=30&cursor=${encodeURIComponent(first.data.next_cursor)}`);
  assert.deepEqual(await shown(), second.data.items.map((c) => c.id));
  assert.equal(await supervisor.locator("#f_sort").inputValue(), "deadline", "the order is kept across pages");
  const problems = await capture(supervisor, "queue-sorted");
  await supervisor.close();

  // The notices page: the body's inbox, the new assignment unread; marking
  // it read takes it off the list, the count and the queue's row.
  await page.click("a[href='/inbox']");
  await page.waitForURL(/\/inbox/);
  problems.push(...await capture(page, "inbox"));
  await page.click("a[href*='inbox=body']");
  const notice = page.locator("li.notice.unread", { has: page.locator(`a[href="/cases/${id}"]`) });
  assert.match(await notice.innerText(), /新交办/);
  await Promise.all([page.waitForEvent("load"), notice.locator("[data-mark-read]").click()]);
  assert.equal(await page.locator("li.notice", { has: page.locator(`a[href="/cases/${id}"]`) }).count(), 0);
  assert.equal(await unreadTotal(), before - 1);
  await page.goto(`${server.base}/cases`);
  assert.equal(Number(await page.locator("[data-unread]").getAttribute("data-unread")), before - 1);
  assert.equal(await row.locator("[data-unread-row]").count(), 0);
  assert.deepEqual(problems, []);
  await page.close();
});
