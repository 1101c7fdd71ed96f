// The admin console: each service's objects within the admin's subtree (the APIs scope them), and
// the charts people would rather look at than read. Chart.js is loaded as a classic script.
import {
  $, $$, api, busy, clearErrors, element, formValues, localTime, logout, showProblem, show, staffLogin, t, yuan,
} from "/app/static/app.js";

const Chart = window.Chart;
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
      options: { scales: { rate: { position: "right", min: 0, max: 100, ticks: { callback: (v) => `${v}%` } } } },
    },
    days.length > 0,
  );
}

async function redemptionsChart() {
  const rows = await get("/api/v1/merchants/daily?days=30");
  const days = [...new Set(rows.map((r) => r.day))].sort();
  const merchants = [...new Map(rows.map((r) => [r.merchant_id, r.merchant_name])).entries()];
  const palette = ["#b3261e", "#1a73e8", "#1b6e3a", "#e37400", "#6a1b9a", "#00838f"];
  const cell = (day, id, field) => rows.find((r) => r.day === day && r.merchant_id === id)?.[field] ?? 0;
  draw(
    "chart-redemptions",
    {
      type: "bar",
      data: {
        labels: days,
        datasets: [
          ...merchants.map(([id, name], i) => ({
            label: `${name} · ${t("chart.count")}`,
            data: days.map((d) => cell(d, id, "redemptions")),
            backgroundColor: palette[i % palette.length],
            stack: "count",
          })),
          ...merchants.map(([id, name], i) => ({
            label: `${name} · ${t("chart.discount")}`,
            type: "line",
            yAxisID: "money",
            data: days.map((d) => cell(d, id, "discount_fen") / 100),
            borderColor: palette[i % palette.length],
            borderDash: [4, 4],
          })),
        ],
      },
      options: { scales: { x: { stacked: true }, y: { stacked: true }, money: { position: "right" } } },
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
  const units = await get("/api/v1/branches");
  const names = Object.fromEntries(units.map((u) => [u.id, u.name]));
  table("#branches", units, [
    [t("admin.name"), (u) => u.name],
    [t("admin.parent"), (u) => names[u.parent_id] ?? ""],
  ]);
  for (const select of $$("[data-units]")) {
    select.replaceChildren(...units.map((u) => element("option", { value: u.id }, u.name)));
  }
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

async function courses() {
  const terms = await get("/api/v1/terms/managed");
  table(
    "#terms",
    terms,
    [
      [t("admin.name"), (x) => x.name],
      ["", (x) => `${x.starts_on} – ${x.ends_on}`],
    ],
    [
      [
        t("admin.show"),
        async (term) => {
          const list = await get(`/api/v1/courses?term_id=${term.id}`);
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
        },
      ],
    ],
  );
}

async function merchants() {
  const list = await get("/api/v1/merchants");
  const month = $("#statement-month");
  month.value ||= new Date().toISOString().slice(0, 7);
  const statement = async (merchant) => {
    const s = await get(`/api/v1/merchants/${merchant.id}/statement?month=${month.value}`);
    table("#statement", [s.totals], [
      [t("chart.count"), (x) => x.count],
      [t("till.amount"), (x) => yuan(x.gross_fen)],
      [t("till.discount"), (x) => yuan(x.discount_fen)],
      ["net", (x) => yuan(x.net_fen)],
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
      [
        t("admin.stores"),
        async (m) => {
          const stores = await get(`/api/v1/merchants/${m.id}/stores`);
          table("#stores", stores, [
            [t("admin.name"), (s) => s.name],
            ["", (s) => s.address ?? ""],
          ]);
        },
      ],
      [t("admin.statement"), statement],
    ],
  );
}

async function stations() {
  const list = await get("/api/v1/stations/managed");
  table(
    "#stations",
    list,
    [
      [t("admin.name"), (s) => s.name],
      ["", (s) => s.address],
      [t("card.status"), (s) => s.live?.status ?? ""],
    ],
    [
      [
        t("admin.show"),
        async (s) => {
          const groups = await get(`/api/v1/stations/${s.id}/duty-groups`);
          table("#groups", groups, [
            [t("admin.name"), (g) => g.name],
            ["", (g) => g.member_ids.length],
          ]);
          const duties = await get(`/api/v1/stations/${s.id}/duties`);
          table("#duties", duties.slice(0, 60), [
            ["", (d) => d.day],
            [t("admin.duty_groups"), (d) => d.group_name],
            [t("card.status"), (d) => d.status ?? ""],
          ]);
          const issues = await get(`/api/v1/stations/${s.id}/issues`);
          table("#issues", issues, [
            ["", (i) => localTime(i.reported_at)],
            ["", (i) => i.category],
            ["", (i) => i.note ?? ""],
            [t("card.status"), (i) => i.status],
          ]);
          const left = await get(`/api/v1/stations/${s.id}/lockers/left-behind`);
          table("#left-behind", left, [
            ["#", (x) => x.locker_no],
            ["", (x) => localTime(x.deposited_at)],
          ]);
        },
      ],
    ],
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
    if (error.status === 401) logout("admin");
    showProblem(error);
  }
}

function wireForms() {
  const create = (form, path, after) =>
    form.addEventListener(
      "submit",
      busy($("button[type=submit]", form), async () => {
        clearErrors(form);
        try {
          await api("POST", path, { token, body: formValues(form) });
          form.reset();
          await after();
        } catch (error) {
          showProblem(error, form);
        }
      }),
    );
  create($("#branch-form"), "/api/v1/branches", enrolment);
  create($("#campaign-form"), "/api/v1/campaigns", enrolment);
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
