// The till: staff log in, pick one of their stores, scan or type the member's card code, see the
// offer for the bill and the member's vouchers, apply one, confirm once. One Idempotency-Key per
// sale: a double tap, or a retry after a lost answer, sends the same key with the same body, and
// merchants answers the same redemption.
import {
  $, $$, LANG, api, busy, clearErrors, element, fen, logout, newKey, notice, onSignedOut, scanner, show,
  showProblem, staffLogin, t, yuan,
} from "/app/static/app.js";

onSignedOut(() => logout("till"));

let token = null;
let sale = { body: null, key: null };
const form = $("#sale-form");

function storeId() {
  return $("#store").value;
}

// The quote on screen. A sale spends the voucher that quote priced, never a choice not yet priced;
// a new card or bill clears the quote and with it the voucher.
let quoted = null;

function saleBody(voucherId) {
  const amount = fen(form.elements.amount.value);
  return {
    card_token: form.elements.card_token.value.trim(),
    store_id: storeId(),
    amount_fen: amount ?? -1,
    voucher_id: voucherId,
  };
}

const money = (f) => `${yuan(f)} ${t("yuan")}`;
// Today's list is of one day: the hour and minute say which sale it was, in a phone-wide column.
const clock = (iso) =>
  new Date(iso).toLocaleTimeString(LANG, { timeZone: "Asia/Shanghai", hour: "2-digit", minute: "2-digit", hour12: false });

// The offer's part and the voucher's part of what is taken off (discount_fen holds both).
function breakdown(answer, prefix) {
  $(`#${prefix}-offer`).textContent = answer.offer_title ?? t("till.no_offer");
  $(`#${prefix}-discount`).textContent = money(answer.discount_fen - answer.voucher_fen);
  $(`#${prefix}-voucher`).textContent = money(answer.voucher_fen);
  $(`#${prefix}-payable`).textContent = money(answer.payable_fen);
  const box = $(`#${prefix}-payable`).closest("dl");
  for (const part of $$("[data-voucher-part]", box)) show(part, answer.voucher_fen > 0);
}

function voucherLabel(voucher) {
  const reason = voucher.reason === "shift_thanks" ? t("till.voucher.shift_thanks") : voucher.reason;
  const until = new Date(voucher.expires_at).toLocaleDateString(LANG, { timeZone: "Asia/Shanghai" });
  return `${money(voucher.value_fen)} · ${reason} · ${t("till.voucher_until", { day: until })}`;
}

function showVouchers(answer) {
  const choice = (value, label) =>
    element(
      "label",
      { class: "check" },
      element("input", {
        type: "radio",
        name: "voucher",
        value,
        checked: (answer.voucher_id ?? "") === value,
        on: { change: () => requote() },
      }),
      label,
    );
  $("#voucher-options").replaceChildren(
    choice("", t("till.no_voucher")),
    ...answer.vouchers.map((v) => choice(v.id, voucherLabel(v))),
  );
  show("#vouchers", answer.vouchers.length > 0);
}

function clearQuote() {
  quoted = null;
  show("#quote-box", false);
  $("#voucher-options").replaceChildren();
}

async function loadStores() {
  const stores = await api("GET", "/api/v1/redemptions/stores", { token });
  const select = $("#store");
  select.replaceChildren(
    ...stores.map((s) => element("option", { value: s.id }, `${s.merchant_name} · ${s.name}`)),
  );
  const saved = sessionStorage.getItem("unionhub.till.store");
  if (stores.some((s) => s.id === saved)) select.value = saved;
  show("#no-stores", stores.length === 0);
  show(form, stores.length > 0);
  return stores.length > 0;
}

async function loadToday() {
  if (!storeId()) return;
  const rows = await api("GET", `/api/v1/redemptions?store_id=${encodeURIComponent(storeId())}`, { token });
  const body = $("#today-rows");
  if (!rows.length) {
    body.replaceChildren(element("tr", {}, element("td", { colspan: 5 }, t("empty"))));
    return;
  }
  body.replaceChildren(
    ...rows.map((r) => {
      const reversed = r.reversed_fen >= r.amount_fen;
      const action = reversed
        ? t("till.reversed")
        : element("button", { type: "button", class: "secondary", "data-redemption": r.id }, t("till.reverse"));
      if (!reversed) action.addEventListener("click", busy(action, () => reverse(r.id)));
      const takenOff = [yuan(r.discount_fen)];
      if (r.voucher_fen) takenOff.push(element("br"), element("small", {}, t("till.with_voucher", { v: yuan(r.voucher_fen) })));
      return element(
        "tr",
        { "data-redemption-row": r.id },
        element("td", {}, clock(r.created_at)),
        element("td", {}, r.offer_title ?? t("till.voucher_only")),
        element("td", { class: "num" }, yuan(r.amount_fen)),
        element("td", { class: "num" }, ...takenOff),
        element("td", {}, action),
      );
    }),
  );
}

async function reverse(redemptionId) {
  if (!confirm(t("till.reverse_confirm"))) return;
  try {
    // One key per redemption: reversing it in full twice is the same reversal.
    const reversal = await api("POST", `/api/v1/redemptions/${redemptionId}/reversal`, {
      token,
      body: {},
      headers: { "Idempotency-Key": `reverse-${redemptionId}` },
    });
    const note = $("#reversal-note");
    note.textContent = t(reversal.voucher_returned ? "till.reversed_voucher_back" : "till.reversed_done");
    show(note);
    await loadToday();
  } catch (error) {
    showProblem(error);
  }
}

// What confirming would answer now, with the member's usable vouchers (merchants checks the card
// code without spending it, so the same code still confirms the sale).
async function quote() {
  clearErrors(form);
  const amount = fen(form.elements.amount.value);
  if (amount === null || amount <= 0) {
    $('[data-error-for="amount_fen"]', form).textContent = t("till.amount_invalid");
    form.elements.amount.setAttribute("aria-invalid", "true");
    return;
  }
  const picked = $("#voucher-options input:checked")?.value || null;
  try {
    quoted = await api("POST", "/api/v1/redemptions/quote", { token, body: saleBody(picked) });
    breakdown(quoted, "quote");
    showVouchers(quoted);
    show("#quote-box");
  } catch (error) {
    // A voucher this bill cannot take: its reason goes beside the vouchers, and the quote shown
    // stays as priced. Anything else (the card, the bill) leaves no quote to confirm.
    if (quoted && error.problem?.errors?.some((e) => e.field === "voucher_id")) showVouchers(quoted);
    else clearQuote();
    showProblem(error, form);
  }
}

// Picking a voucher (or none) prices the sale again with it.
const quoteButton = $("#quote");
const requote = busy(quoteButton, quote);

async function confirmSale() {
  clearErrors(form);
  const body = saleBody(quoted?.voucher_id ?? null);
  const text = JSON.stringify(body);
  if (sale.body !== text) sale = { body: text, key: newKey() };
  try {
    const done = await api("POST", "/api/v1/redemptions", {
      token,
      body,
      headers: { "Idempotency-Key": sale.key },
    });
    breakdown(done, "result");
    $("#result-card").textContent = done.card_no ?? "";
    show(form, false);
    show("#result");
    await loadToday();
  } catch (error) {
    showProblem(error, form);
  }
}

function nextSale() {
  sale = { body: null, key: null };
  form.reset();
  clearQuote();
  show("#result", false);
  show("#reversal-note", false);
  show(form);
  notice("");
  form.elements.card_token.focus();
}

async function start(accessToken) {
  token = accessToken;
  show("#till");
  try {
    if (await loadStores()) await loadToday();
  } catch (error) {
    if (error.status === 403) logout("till"); // a login that serves no store here: another one
    showProblem(error);
  }
}

$("#store").addEventListener("change", () => {
  sessionStorage.setItem("unionhub.till.store", storeId());
  nextSale();
  loadToday().catch(showProblem);
});
$("#logout").addEventListener("click", () => logout("till"));
quoteButton.addEventListener("click", requote);
form.addEventListener("submit", busy($("#confirm"), confirmSale));
$("#next").addEventListener("click", nextSale);
$("#refresh").addEventListener("click", busy($("#refresh"), () => loadToday().catch(showProblem)));
// Another bill or another member's card: the quote and the voucher picked for it no longer hold.
form.elements.amount.addEventListener("input", clearQuote);
form.elements.card_token.addEventListener("input", clearQuote);
scanner($("[data-scanner]", form), (text) => {
  form.elements.card_token.value = text;
  clearQuote();
  form.elements.amount.focus();
});

staffLogin("till", start);
