// The station duty page: a volunteer checks in with the station's poster QR (and the phone's
// location when allowed), logs duty, handles lockers, and checks out. The open shift is asked of
// stations on every load, so a reloaded page carries on where it was.
import {
  $, ApiError, api, busy, clearErrors, deviceLogin, element, formValues, localTime, logout, newKey, onSignedOut,
  scanner, show, showProblem, t,
} from "/app/static/app.js";

onSignedOut(() => logout("member"));

let token = null;
let shift = null;

function position() {
  return new Promise((resolve) => {
    if (!navigator.geolocation) return resolve({});
    navigator.geolocation.getCurrentPosition(
      (p) => resolve({ lat: p.coords.latitude, lng: p.coords.longitude }),
      () => resolve({}), // refused or unavailable: check in without it
      // A fresh fix every time: a volunteer refused as too far walks closer and tries again, and a
      // position remembered from before the walk would be refused again.
      { enableHighAccuracy: true, timeout: 10000, maximumAge: 0 },
    );
  });
}

function renderLog(entries) {
  $("#log-entries").replaceChildren(
    ...entries.map((e) =>
      element("li", {}, `${localTime(e.at)} · ${t(`duty.kind.${e.kind}`)}`, e.value ? ` · ${t(`duty.${e.value}`)}` : "", e.note ? ` · ${e.note}` : ""),
    ),
  );
}

async function loadShift() {
  try {
    shift = await api("GET", "/api/v1/shifts/me", { token });
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 404)) throw error;
    shift = null;
  }
  show("#checkin", !shift);
  show("#on-duty", Boolean(shift));
  if (!shift) return;
  $("#station-name").textContent = shift.station_name;
  $("#shift-since").textContent = localTime(shift.started_at);
  renderLog(shift.log);
  loadOverdue();
}

async function loadOverdue() {
  // Only a station's coordinators may list what was left behind; a volunteer's token gets 403.
  try {
    const rows = await api("GET", `/api/v1/stations/${shift.station_id}/lockers/left-behind`, { token });
    $("#overdue-list").replaceChildren(...rows.map((r) => element("li", {}, `#${r.locker_no} · ${localTime(r.deposited_at)}`)));
    show("#overdue", true);
  } catch {
    show("#overdue", false);
  }
}

function wire() {
  const checkin = $("#checkin-form");
  scanner($("[data-scanner]", checkin), (text) => {
    checkin.elements.station_code.value = text;
  });
  checkin.addEventListener(
    "submit",
    busy($("#checkin-submit"), async () => {
      clearErrors(checkin);
      const body = { station_code: checkin.elements.station_code.value.trim() };
      if (checkin.elements.use_location.checked) Object.assign(body, await position());
      try {
        await api("POST", "/api/v1/shifts/checkin", { token, body });
        checkin.reset();
        await loadShift();
      } catch (error) {
        showProblem(error, checkin);
      }
    }),
  );

  const log = $("#log-form");
  const toggle = () => show("#value-box", ["lights", "ac"].includes(log.elements.kind.value));
  log.elements.kind.addEventListener("change", toggle);
  toggle();
  log.addEventListener(
    "submit",
    busy($("#log-submit"), async () => {
      clearErrors(log);
      const values = formValues(log);
      const body = { kind: values.kind, note: values.note || null };
      if (["lights", "ac"].includes(values.kind)) body.value = values.value;
      try {
        const entry = await api("POST", `/api/v1/shifts/${shift.shift_id}/log`, { token, body });
        shift.log.push(entry);
        renderLog(shift.log);
        log.elements.note.value = "";
      } catch (error) {
        showProblem(error, log);
      }
    }),
  );

  const deposit = $("#deposit-form");
  let depositKey = { body: null, key: null };
  deposit.addEventListener(
    "submit",
    busy($("#deposit-submit"), async () => {
      clearErrors(deposit);
      const raw = deposit.elements.locker_no.value.trim();
      const body = { locker_no: raw ? Number(raw) : null };
      const text = JSON.stringify(body);
      if (depositKey.body !== text) depositKey = { body: text, key: newKey() };
      try {
        const done = await api("POST", `/api/v1/stations/${shift.station_id}/lockers/deposits`, {
          token,
          body,
          headers: { "Idempotency-Key": depositKey.key },
        });
        depositKey = { body: null, key: null };
        const result = $("#deposit-result");
        result.textContent = t("duty.deposited", { n: done.locker_no, code: done.pickup_code });
        show(result);
        deposit.reset();
      } catch (error) {
        showProblem(error, deposit);
      }
    }),
  );

  const pickup = $("#pickup-form");
  pickup.addEventListener(
    "submit",
    busy($("#pickup-submit"), async () => {
      clearErrors(pickup);
      try {
        const done = await api("POST", `/api/v1/stations/${shift.station_id}/lockers/pickups`, {
          token,
          body: { pickup_code: pickup.elements.pickup_code.value.trim() },
        });
        const result = $("#pickup-result");
        result.textContent = t("duty.collected", { n: done.locker_no });
        show(result);
        pickup.reset();
      } catch (error) {
        showProblem(error, pickup);
      }
    }),
  );

  const checkout = $("#checkout");
  checkout.addEventListener(
    "click",
    busy(checkout, async () => {
      try {
        const done = await api("POST", `/api/v1/shifts/${shift.shift_id}/checkout`, { token, body: {} });
        show("#on-duty", false);
        const message = $("#done");
        message.textContent = t("duty.checked_out", { m: done.minutes });
        show(message);
        shift = null;
        show("#checkin");
      } catch (error) {
        showProblem(error);
      }
    }),
  );
}

async function main() {
  try {
    const login = await deviceLogin();
    if (!login) {
      show("#miniapp");
      return;
    }
    token = login.access_token;
    wire();
    await loadShift();
  } catch (error) {
    showProblem(error);
  }
}

main();
