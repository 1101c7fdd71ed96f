// The admin console: each service's objects within the admin's subtree (the APIs scope them), and
// the charts people would rather look at than read. Chart.js is loaded as a classic script.
import {
  $, $$, api, busy, clearErrors, element, fen, localTime, logout, onSignedOut, showProblem, show, staffLogin, t,
  yuan,
} from "/app/static/app.js";

onSignedOut(() => logout("admin"));

const Chart = window.Chart;
// Someone who asked their system for less motion gets the charts drawn at once.
if (Chart && matchMedia("(prefers-reduced-motion: reduce)").matches) Chart.defaults.animation = false;
let token = null;
const charts = {};
const get = (path) => api("GET", path, { token });

// ---- tables ---------------------------------------------------------------------------------------
// columns: [heading, row => cell text or node]; actions: [label, row => handler]
function table(target, rows, columns, actions = []) {
  const box = typeof target === "string" ? $(target) : target;
  if (!rows.length) {
    box.replaceChildren(element("p", { class: "hint" }, t("empty")));
    return;
  }
  const head = element("tr", {}, ...columns.map(([h]) => element("th", {}, h)), actions.length ? element("th") : null);
  const body = rows.map((row) =>
    element(
      "tr",
      {},
      ...columns.map(([, cell]) => element("td", {}, cell(row) ?? "")),
      actions.length
        ? element(
            "td",
            { class: "toolbar" },
            ...actions.map(([label, handler]) => {
              const button = element("button", { type: "button", class: "secondary" }, label);
              button.addEventListener("click", busy(button, () => handler(row).catch(showProblem)));
              return button;
            }),
          )
        : null,
    ),
  );
  box.replaceChildren(element("table", {}, element("thead", {}, head), element("tbody", {}, ...body)));
}

// ---- charts ---------------------------------------------------------------------------------------
function draw(id, config, hasData) {
  charts[id]?.destroy();
  show(`#${id}-empty`, !hasData);
  show($(`#${id}`).parentElement, hasData);
  if (!hasData || !Chart) return;
  charts[id] = new Chart($(`#${id}`), { ...config, options: { responsive: true, maintainAspectRatio: false, ...config.options } });
}

async function funnelChart(campaignId) {
  if (!campaignId) return draw("chart-funnel", {}, false);
  const stats = await get(`/api/v1/campaigns/${campaignId}/stats`);
  const days = stats.by_day || [];
  draw(
    "chart-funnel",
    {
      type: "bar",
      data: {
        labels: days.map((d) => d.day),
        datasets: [
          { label: t("chart.scans"), data: days.map((d) => d.scans), backgroundColor: "#9aa5b1" },
          { label: t("chart.joins"), data: days.map((d) => d.joins), backgroundColor: "#b3261e" },
          {
            label: t("chart.conversion"),
            type: "line",
            yAxisID: "rate",
            data: days.map((d) => Math.round((d.conversion || 0) * 1000) / 10),
            borderColor: "#1b6e3a",
          },
        ],
      },
      // "y" named first: Chart.js puts a dataset without a yAxisID on the first vertical scale, and
      // with "rate" alone the bars would be drawn against 0–100 %.
      options: {
        scales: {
          y: { beginAtZero: true, ticks: { precision: 0 } },
          rate: { position: "right", min: 0, max: 100, ticks: { callback: (v) => `${v}%` } },
        },
      },
    },
    days.length > 0,
  );
}

// The merchants with the most redemptions each get a colour; the rest share "others", so that with
// a province's hundreds of merchants the legend stays a line or two under the chart.
const TOP_MERCHANTS = 5;

async function redemptionsChart() {
  const rows = await get("/api/v1/merchants/daily?days=30");
  const days = [...new Set(rows.map((r) => r.day))].sort();
  const totals = new Map();
  for (const r of rows) totals.set(r.merchant_id, { name: r.merchant_name, n: (totals.get(r.merchant_id)?.n ?? 0) + r.redemptions });
  const ranked = [...totals.entries()].sort((a, b) => b[1].n - a[1].n);
  const top = ranked.slice(0, TOP_MERCHANTS).map(([id, m]) => ({ ids: [id], name: m.name }));
  const rest = ranked.slice(TOP_MERCHANTS).map(([id]) => id);
  // "Others" only names more than one merchant: a sixth alone keeps its own name.
  if (rest.length === 1) top.push({ ids: rest, name: totals.get(rest[0]).name });
  else if (rest.length) top.push({ ids: rest, name: t("chart.others", { n: rest.length }) });
  const palette = ["#b3261e", "#1a73e8", "#1b6e3a", "#e37400", "#6a1b9a", "#5b6770"];
  const sum = (day, ids, field) =>
    rows.filter((r) => r.day === day && ids.includes(r.merchant_id)).reduce((n, r) => n + r[field], 0);
  draw(
    "chart-redemptions",
    {
      type: "bar",
      data: {
        labels: days,
        datasets: [
          ...top.map((group, i) => ({
            label: group.name,
            data: days.map((d) => sum(d, group.ids, "redemptions")),
            discounts: days.map((d) => sum(d, group.ids, "discount_fen")),
            backgroundColor: palette[i % palette.length],
            stack: "count",
          })),
          {
            label: t("chart.discount"),
            type: "line",
            yAxisID: "money",
            data: days.map((d) => sum(d, [...totals.keys()], "discount_fen") / 100),
            borderColor: "#1d2327",
            borderDash: [4, 4],
          },
        ],
      },
      options: {
        scales: {
          x: { stacked: true },
          y: { stacked: true, title: { display: true, text: t("chart.count") } },
          money: { position: "right", beginAtZero: true, grid: { drawOnChartArea: false } },
        },
        plugins: {
          legend: { position: "bottom", labels: { boxWidth: 12 } },
          // A merchant's bar says its redemptions and its discount that day.
          tooltip: {
            callbacks: {
              label: (item) =>
                item.dataset.discounts
                  ? `${item.dataset.label}: ${item.raw} · ${yuan(item.dataset.discounts[item.dataIndex])} ${t("yuan")}`
                  : `${item.dataset.label}: ${item.raw}`,
            },
          },
        },
      },
    },
    rows.length > 0,
  );
}

// Weeks are labelled by their Monday.
function weekOf(day) {
  const date = new Date(`${day}T00:00:00Z`);
  date.setUTCDate(date.getUTCDate() - ((date.getUTCDay() + 6) % 7));
  return date.toISOString().slice(0, 10);
}

async function coverageChart(stations) {
  const from = new Date(Date.now() - 55 * 86400000).toISOString().slice(0, 10);
  const series = [];
  const weeks = new Set();
  for (const station of stations.slice(0, 8)) {
    const stats = await get(`/api/v1/stations/${station.id}/stats?from=${from}`);
    const byWeek = {};
    for (const day of stats.days) {
      if (!day.duties_scheduled) continue;
      const week = weekOf(day.day);
      byWeek[week] ??= [0, 0];
      byWeek[week][0] += day.duties_done;
      byWeek[week][1] += day.duties_scheduled;
      weeks.add(week);
    }
    series.push([station.name, byWeek]);
  }
  const labels = [...weeks].sort();
  draw(
    "chart-coverage",
    {
      type: "line",
      data: {
        labels,
        datasets: series.map(([name, byWeek]) => ({
          label: name,
          data: labels.map((w) => (byWeek[w] ? Math.round((byWeek[w][0] / byWeek[w][1]) * 100) : null)),
        })),
      },
      options: { scales: { y: { min: 0, max: 100, ticks: { callback: (v) => `${v}%` } } } },
    },
    labels.length > 0,
  );
}

async function fillChart(terms) {
  const labels = [];
  const fill = [];
  const noShows = [];
  for (const term of terms.slice(0, 6)) {
    const courses = await get(`/api/v1/courses?term_id=${term.id}`);
    if (!courses.length) continue;
    const capacity = courses.reduce((sum, c) => sum + c.capacity, 0);
    const taken = courses.reduce((sum, c) => sum + (c.capacity - c.seats_left), 0);
    let missed = 0;
    for (const course of courses.slice(0, 20)) {
      const roster = await get(`/api/v1/courses/${course.id}/roster`).catch(() => []);
      missed += roster.reduce((sum, r) => sum + (r.no_shows || 0), 0);
    }
    labels.push(term.name);
    fill.push(capacity ? Math.round((taken / capacity) * 100) : 0);
    noShows.push(missed);
  }
  draw(
    "chart-fill",
    {
      type: "bar",
      data: {
        labels,
        datasets: [
          { label: `${t("chart.fill_rate")} %`, data: fill, backgroundColor: "#1a73e8" },
          { label: t("chart.no_shows"), type: "line", yAxisID: "count", data: noShows, borderColor: "#b3261e" },
        ],
      },
      options: { scales: { y: { min: 0, max: 100 }, count: { position: "right", beginAtZero: true } } },
    },
    labels.length > 0,
  );
}

// ---- panels ---------------------------------------------------------------------------------------
const loaded = {};

// Fills every select matching `selector` with rows, keeping what was chosen if it is still there,
// and the select's blank first option (such as "not set yet") if it has one.
function fill(selector, rows, label) {
  for (const select of $$(selector)) {
    const chosen = select.multiple ? [...select.selectedOptions].map((o) => o.value) : [select.value];
    select.replaceChildren(
      ...$$('option[value=""]', select),
      ...rows.map((row) => element("option", { value: row.id, selected: chosen.includes(row.id) }, label(row))),
    );
  }
}

// The branches of the admin's subtree, for every form that names one. A new unit's parent must be
// one that may have units under it: a grassroots branch ("branch") may not (enrolment refuses it).
async function units() {
  const list = await get("/api/v1/branches");
  fill("[data-units]", list, (u) => u.name);
  const parents = list.filter((u) => u.kind !== "branch");
  fill("[data-parents]", parents, (u) => u.name);
  show("#branch-form", parents.length > 0); // an admin of one branch has nowhere to add one
  return list;
}

async function overview() {
  const campaigns = await get("/api/v1/campaigns");
  const select = $("#funnel-campaign");
  select.replaceChildren(...campaigns.map((c) => element("option", { value: c.id }, c.name)));
  select.onchange = () => funnelChart(select.value).catch(showProblem);
  await funnelChart(select.value);
  await redemptionsChart();
  await coverageChart(await get("/api/v1/stations/managed"));
  await fillChart(await get("/api/v1/terms/managed"));
}

async function showPoster(campaign) {
  const image = await get(`/api/v1/campaigns/${campaign.id}/qr.png`);
  const img = $("#poster-img");
  if (img.src) URL.revokeObjectURL(img.src);
  img.src = URL.createObjectURL(image); // the PNG needs the admin's token, so no plain <img src>
  $("#poster-url").textContent = campaign.join_url;
  show("#poster");
}

async function enrolment() {
  const branches = await units();
  const names = Object.fromEntries(branches.map((u) => [u.id, u.name]));
  table("#branches", branches, [
    [t("admin.name"), (u) => u.name],
    [t("admin.parent"), (u) => names[u.parent_id] ?? ""],
  ]);
  const campaigns = await get("/api/v1/campaigns");
  table(
    "#campaigns",
    campaigns,
    [
      [t("admin.name"), (c) => c.name],
      [t("admin.branch"), (c) => names[c.branch_id] ?? c.branch_id],
      [t("card.status"), (c) => c.status],
    ],
    [
      [t("admin.poster"), showPoster],
      [
        t("admin.revoke"),
        async (c) => {
          await api("POST", `/api/v1/campaigns/${c.id}/revoke`, { token, body: {} });
          await enrolment();
        },
      ],
    ],
  );
  const members = await get("/api/v1/members?per_page=50");
  table("#members", members.items, [
    [t("card.no"), (m) => m.card_no],
    [t("join.name"), (m) => m.name],
    [t("join.branch"), (m) => m.branch],
    [t("card.status"), (m) => t(`status.${m.status}`)],
  ]);
}

async function showCourses(term) {
  const list = await get(`/api/v1/courses?term_id=${encodeURIComponent(term.id)}`);
  table(
    "#courses",
    list,
    [
      [t("admin.name"), (c) => c.title],
      [t("chart.fill_rate"), (c) => `${c.capacity - c.seats_left}/${c.capacity}`],
    ],
    [
      [
        t("admin.roster"),
        async (course) => {
          const roster = await get(`/api/v1/courses/${course.id}/roster`);
          table("#roster", roster, [
            [t("card.no"), (r) => r.card_no ?? r.child ?? ""],
            [t("card.status"), (r) => r.status],
            ["✓", (r) => r.attended],
            [t("chart.no_shows"), (r) => r.no_shows],
          ]);
        },
      ],
    ],
  );
}

// Courses are created as drafts; members see only published ones, and so does the list above. The
// drafts of every term the admin manages (status=draft, which only admins may ask for) wait here for
// their Publish.
let termNames = {};

async function showDrafts() {
  const drafts = await get("/api/v1/courses?status=draft&limit=200");
  show("#drafts-box", drafts.length > 0);
  table(
    "#drafts",
    drafts,
    [
      [t("admin.name"), (d) => d.title],
      [t("admin.term"), (d) => termNames[d.term_id] ?? d.term_id],
      [t("admin.first_session"), (d) => (d.first_session ? localTime(d.first_session) : "")],
    ],
    [
      [
        t("admin.publish"),
        async (draft) => {
          await api("POST", `/api/v1/courses/${encodeURIComponent(draft.id)}/publish`, { token });
          await showDrafts();
          await showCourses({ id: draft.term_id });
        },
      ],
    ],
  );
}

// The venues of the admin's subtree, for the course form to hold a course at one.
async function venues() {
  const list = await get("/api/v1/venues");
  fill("[data-venues]", list, (v) => v.name);
  table("#venues", list, [
    [t("admin.name"), (v) => v.name],
    [t("admin.address"), (v) => v.address ?? ""],
  ]);
}

async function courses() {
  await units();
  await venues();
  const terms = await get("/api/v1/terms/managed");
  termNames = Object.fromEntries(terms.map((x) => [x.id, x.name]));
  fill("[data-terms]", terms, (x) => x.name);
  table(
    "#terms",
    terms,
    [
      [t("admin.name"), (x) => x.name],
      ["", (x) => `${x.starts_on} – ${x.ends_on}`],
    ],
    [[t("admin.show"), showCourses]],
  );
  await showDrafts();
}

async function showStores(merchant) {
  const stores = await get(`/api/v1/merchants/${encodeURIComponent(merchant.id)}/stores`);
  table("#stores", stores, [
    [t("admin.name"), (s) => s.name],
    ["", (s) => s.address ?? ""],
  ]);
}

// A till login serves some of its merchant's stores: the stores of the merchant picked.
async function staffStores() {
  const merchantId = $("#staff-merchant").value;
  const stores = merchantId ? await get(`/api/v1/merchants/${encodeURIComponent(merchantId)}/stores`) : [];
  fill("#staff-stores", stores, (s) => s.name);
}

async function merchants() {
  await units();
  const list = await get("/api/v1/merchants");
  fill("[data-merchants]", list, (m) => m.name);
  const month = $("#statement-month");
  month.value ||= new Date().toISOString().slice(0, 7);
  const statement = async (merchant) => {
    const s = await get(`/api/v1/merchants/${merchant.id}/statement?month=${month.value}`);
    table("#statement", [s.totals], [
      [t("chart.count"), (x) => x.count],
      [t("till.amount"), (x) => yuan(x.gross_fen)],
      [t("till.discount"), (x) => yuan(x.discount_fen)],
      ["net", (x) => yuan(x.net_fen)],
      [t("admin.statement_state"), () => t(s.final ? "admin.statement_final" : "admin.statement_provisional")],
    ]);
  };
  table(
    "#merchants",
    list,
    [
      [t("admin.name"), (m) => m.name],
      ["", (m) => m.category],
    ],
    [
      [t("admin.stores"), showStores],
      [t("admin.statement"), statement],
    ],
  );
  await staffStores();
}

async function showStation(station) {
  const id = encodeURIComponent(station.id);
  const groups = await get(`/api/v1/stations/${id}/duty-groups`);
  table("#groups", groups, [
    [t("admin.name"), (g) => g.name],
    ["", (g) => g.member_ids.length],
  ]);
  const duties = await get(`/api/v1/stations/${id}/duties`);
  table("#duties", duties.slice(0, 60), [
    ["", (d) => d.day],
    [t("admin.duty_groups"), (d) => d.group_name],
    [t("card.status"), (d) => d.status ?? ""],
  ]);
  const issues = await get(`/api/v1/stations/${id}/issues`);
  table("#issues", issues, [
    ["", (i) => localTime(i.reported_at)],
    ["", (i) => i.category],
    ["", (i) => i.note ?? ""],
    [t("card.status"), (i) => i.status],
  ]);
  const left = await get(`/api/v1/stations/${id}/lockers/left-behind`);
  table("#left-behind", left, [
    ["#", (x) => x.locker_no],
    ["", (x) => localTime(x.deposited_at)],
  ]);
}

async function stations() {
  await units();
  const list = await get("/api/v1/stations/managed");
  fill("[data-stations]", list, (s) => s.name);
  const members = await get("/api/v1/members?per_page=100");
  fill("[data-members]", members.items, (m) => [m.name, m.card_no].filter(Boolean).join(" · "));
  table(
    "#stations",
    list,
    [
      [t("admin.name"), (s) => s.name],
      ["", (s) => s.address],
      [t("card.status"), (s) => s.live?.status ?? ""],
    ],
    [[t("admin.show"), showStation]],
  );
}

const PANELS = { overview, enrolment, courses, merchants, stations };

async function open(name) {
  for (const tab of $$("[data-tab]")) tab.setAttribute("aria-selected", String(tab.dataset.tab === name));
  for (const panel of $$("[data-panel]")) panel.hidden = panel.dataset.panel !== name;
  if (loaded[name]) return;
  loaded[name] = true;
  try {
    await PANELS[name]();
  } catch (error) {
    loaded[name] = false;
    showProblem(error);
  }
}

// ---- forms ----------------------------------------------------------------------------------------
// A form's inputs say how their text becomes the API's JSON: data-number (a number), data-fen (yuan
// typed, fen sent), data-moment (a datetime-local, sent as Shanghai time), data-steps (满减 steps
// typed as "100:10, 200:25"), data-budget (yuan or a count, as the form's budget_kind says),
// data-blank-null (blank, or a multiple select with nothing chosen, is null), data-omit-blank (blank is
// left out, so the API's default applies), a named checkbox (true or false), data-list="field"
// (unnamed checkboxes whose values make one list), a multiple select (a list), data-rows="field"
// (rows of data-cell inputs, each row a list, blank rows dropped, none at all null); a dotted name
// nests ("schedule.start"). Inputs marked data-path go into the URL, not the body; inputs in a
// hidden part of the form are not sent. Text that does not convert is sent as typed, so the API's
// message lands under its field.
const asNumber = (text) => (text === "" ? null : Number.isFinite(Number(text)) ? Number(text) : text);

function steps(text) {
  if (!text) return null;
  const pairs = text.split(/[,，;；\s]+/).filter(Boolean).map((pair) => pair.split(/[:：/]/).map(fen));
  return pairs.every((pair) => pair.length === 2 && pair.every((x) => x !== null)) ? pairs : text;
}

function put(values, name, value) {
  const path = name.split(".");
  let box = values;
  for (const key of path.slice(0, -1)) box = box[key] ??= {};
  box[path.at(-1)] = value;
}

function payload(form) {
  const values = {};
  for (const input of form.elements) {
    if (!input.name || "path" in input.dataset || input.closest("[hidden]")) continue;
    const text = input.value.trim();
    if (text === "" && "omitBlank" in input.dataset) continue; // the API's default applies
    let value = text;
    if (input.type === "checkbox") value = input.checked;
    else if (input.multiple) {
      value = [...input.selectedOptions].map((o) => o.value);
      if (!value.length && "blankNull" in input.dataset) value = null;
    } else if ("number" in input.dataset) value = asNumber(text);
    else if ("fen" in input.dataset) value = text === "" ? null : fen(text) ?? text;
    else if ("moment" in input.dataset) value = text && /^\d{4}-\d\d-\d\dT\d\d:\d\d$/.test(text) ? `${text}:00+08:00` : text;
    else if ("steps" in input.dataset) value = steps(text);
    else if ("budget" in input.dataset) value = text === "" ? null : form.elements.budget_kind?.value === "money" ? fen(text) ?? text : asNumber(text);
    else if ("blankNull" in input.dataset && text === "") value = null;
    put(values, input.name, value);
  }
  const lists = {};
  for (const box of $$("[data-list]", form)) {
    lists[box.dataset.list] ??= [];
    if (box.checked) lists[box.dataset.list].push(/^\d+$/.test(box.value) ? Number(box.value) : box.value);
  }
  for (const [name, list] of Object.entries(lists)) put(values, name, list);
  for (const box of $$("[data-rows]", form)) {
    const rows = $$("[data-row]", box)
      .map((row) => $$("[data-cell]", row).map((cell) => cell.value.trim()))
      .filter((cells) => cells.some((cell) => cell !== ""));
    put(values, box.dataset.rows, rows.length ? rows : null);
  }
  return values;
}

// data-rows: "add" appends a blank copy of the first row; a reset leaves the first row only.
function growable(box, add) {
  add.addEventListener("click", () => {
    const row = $("[data-row]", box).cloneNode(true);
    for (const cell of $$("[data-cell]", row)) cell.value = "";
    box.append(row);
    $("[data-cell]", row).focus();
  });
  add.form.addEventListener("reset", () => $$("[data-row]", box).slice(1).forEach((row) => row.remove()));
}

// An error on "steps.0.1" or "schedule.weekdays.2" goes under the nearest field the form shows.
function placeErrors(error, form) {
  for (const fieldError of error.problem?.errors || []) {
    let field = fieldError.field || "";
    while (field.includes(".") && !$(`[data-error-for="${CSS.escape(field)}"]`, form)) {
      field = field.slice(0, field.lastIndexOf("."));
    }
    if ($(`[data-error-for="${CSS.escape(field)}"]`, form)) fieldError.field = field;
  }
}

// path: the URL, or a function of the form's path selects giving it; after(answer, body) refreshes
// what the new object shows up in.
function create(form, path, after) {
  form.addEventListener(
    "submit",
    busy($("button[type=submit]", form), async () => {
      clearErrors(form);
      const empty = $$("[data-path]", form).find((select) => !select.value);
      if (empty) {
        $(`[data-error-for="${CSS.escape(empty.name)}"]`, form).textContent = t("admin.pick_first");
        return;
      }
      const body = payload(form);
      try {
        const answer = await api("POST", typeof path === "function" ? path(form) : path, { token, body });
        const chosen = $$("select", form).map((select) => [select, select.value]);
        form.reset();
        for (const [select, value] of chosen) if (!select.multiple) select.value = value; // keep the context picked
        await after(answer, body);
      } catch (error) {
        placeErrors(error, form);
        showProblem(error, form);
      }
    }),
  );
}

const pathId = (form, name) => encodeURIComponent(form.elements[name].value);

function wireForms() {
  create($("#branch-form"), "/api/v1/branches", enrolment);
  create($("#campaign-form"), "/api/v1/campaigns", enrolment);

  create($("#term-form"), "/api/v1/terms", courses);
  create($("#venue-form"), "/api/v1/venues", venues);
  create($("#course-form"), "/api/v1/courses", async (answer) => {
    $("#course-made").textContent = t("admin.draft_made", { n: answer.sessions });
    show("#course-made");
    await showDrafts();
  });
  $("#course-form").addEventListener("input", () => show("#course-made", false));

  create($("#merchant-form"), "/api/v1/merchants", merchants);
  create(
    $("#store-form"),
    (form) => `/api/v1/merchants/${pathId(form, "merchant_id")}/stores`,
    async (answer) => {
      await showStores({ id: answer.merchant_id ?? $("#store-merchant").value });
      await staffStores(); // the new store may be the one a till login is about to serve
    },
  );
  const kind = $("#offer-kind");
  const showKind = () => {
    for (const part of $$("[data-kind]", kind.form)) part.hidden = part.dataset.kind !== kind.value;
  };
  kind.addEventListener("change", showKind);
  kind.form.addEventListener("reset", () => setTimeout(showKind));
  growable($("#offer-weeks"), $("#offer-week-add"));
  create($("#offer-form"), "/api/v1/offers", merchants);
  $("#staff-merchant").addEventListener("change", () => staffStores().catch(showProblem));
  create(
    $("#staff-form"),
    (form) => `/api/v1/merchants/${pathId(form, "merchant_id")}/staff`,
    async (answer) => {
      $("#staff-made").textContent = t("admin.staff_made", { username: answer.username, n: answer.store_ids.length });
      show("#staff-made");
    },
  );
  $("#staff-form").addEventListener("input", () => show("#staff-made", false));

  create($("#station-form"), "/api/v1/stations", stations);
  create(
    $("#group-form"),
    (form) => `/api/v1/stations/${pathId(form, "station_id")}/duty-groups`,
    () => showStation({ id: $("#group-station").value }),
  );
  create(
    $("#rota-form"),
    (form) => `/api/v1/stations/${pathId(form, "station_id")}/rota`,
    () => showStation({ id: $("#rota-station").value }),
  );
}

function start(accessToken) {
  token = accessToken;
  show("#console");
  for (const tab of $$("[data-tab]")) tab.addEventListener("click", () => open(tab.dataset.tab));
  $("#logout").addEventListener("click", () => logout("admin"));
  wireForms();
  open("overview");
}

staffLogin("admin", start);
