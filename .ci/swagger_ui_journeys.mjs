// Admins' and shoppers' journeys through the one docs page, by clicks, in headless Chromium
// (playwright-core driving Debian's chromium): log in, Authorize once, stock the shop, register,
// deposit, order with the proposed example body, cancel, read the statement and the messages,
// open the order's history. Every step asserts the status Swagger UI shows. Then every
// service's spec, chosen in the page's selector, lists all its operations.
//
// Usage: node swagger_ui_journeys.mjs FRONT_URL ADMIN_PASSWORD CHROMIUM
import { chromium } from "playwright-core";

const [front, adminPassword, executablePath] = process.argv.slice(2);
const browser = await chromium.launch({ executablePath, args: ["--no-sandbox"] });
const page = await browser.newPage();
const failures = [];
const step = (what) => console.log(`swagger-ui journey: ${what}`);

/** Chooses `name` in the page's service selector and waits for its operations. */
async function service(name) {
  await page.selectOption("#shop-spec", { label: name });
  await page.waitForSelector(`.information-container .title:has-text("${name}")`);
  await page.waitForSelector(".opblock");
}

/** Opens operation `id`, fills `params` and (unless `body` is undefined: the proposed one) the
 *  body, executes it, and answers the status and body Swagger UI shows. */
async function execute(id, { params = {}, body } = {}) {
  const op = page.locator(`.opblock[id$="-${id}"]`);
  if (!(await op.locator(".opblock-body").count())) {
    await op.locator(".opblock-summary").first().click();
  }
  await op.locator("button.try-out__btn").first().waitFor();
  const tryOut = op.locator("button.try-out__btn:has-text('Try it out')");
  if (await tryOut.count()) await tryOut.click();
  // The proposed body, as the spec proposes it (a body typed before would stay otherwise).
  const reset = op.locator("button.try-out__btn.reset");
  if (body === undefined && (await reset.count())) await reset.click();
  for (const [name, value] of Object.entries(params)) {
    await op.locator(`tr[data-param-name="${name}"] input`).fill(value);
  }
  if (body !== undefined) {
    await op.locator("textarea.body-param__text").fill(JSON.stringify(body));
  }
  await op.locator("button.execute").click();
  const status = op.locator(".live-responses-table .response .response-col_status").first();
  await status.waitFor();
  const code = Number((await status.textContent()).trim());
  const text = await op.locator(".live-responses-table .response-col_description pre").first().textContent();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  // Leave the operation as it was found: collapsed, so that the next one is found alone.
  await op.locator(".opblock-summary").first().click();
  return { code, json };
}

async function expect(what, id, want, options) {
  const { code, json } = await execute(id, options);
  if (code !== want) failures.push(`${what}: ${id} showed ${code}, not ${want}: ${JSON.stringify(json)}`);
  else step(`${what}: ${id} → ${code}`);
  return json ?? {};
}

/** Authorizes with `token` (logging the previous one out): once, for every service. */
async function authorize(token) {
  await page.locator(".auth-wrapper button.authorize").click();
  const logout = page.locator(".dialog-ux button:has-text('Logout')");
  if (await logout.count()) await logout.first().click();
  await page.locator(".dialog-ux input").first().fill(token);
  await page.locator(".dialog-ux button.modal-btn.authorize").first().click();
  await page.locator(".dialog-ux button.btn-done").first().click();
}

await page.goto(`${front}/user/docs`);
await page.waitForSelector(".opblock");
const title = await page.title();
if (title !== "user-svc API · the shop") failures.push(`the page is titled ${title}`);

// The admin logs in and authorizes once.
const admin = await expect("admin", "login", 200, { body: { username: "admin", password: adminPassword } });
await authorize(admin.access_token);
await service("stock-svc");
await expect("admin", "create_product", 201);
await service("delivery-svc");
await expect("admin", "create_courier", 201);

// A shopper registers with the proposed body, logs in, deposits, orders, cancels.
await service("user-svc");
await expect("shopper", "register", 201);
const ann = await expect("shopper", "login", 200);
await authorize(ann.access_token);
await service("payment-svc");
await expect("shopper", "deposit", 200);
await service("order-svc");
const order = await expect("shopper", "place_order", 201);
if (order.status !== "completed") failures.push(`the proposed order is ${order.status}`);
await expect("shopper", "get_order", 200, { params: { id: order.id } });
await expect("shopper", "cancel_order", 200, { params: { id: order.id } });
await service("payment-svc");
const statement = await expect("shopper", "get_statement", 200);
if (!statement.items?.some((e) => e.kind === "refund")) failures.push("the statement shows no refund");
await service("notify-svc");
const messages = await expect("shopper", "list_messages", 200);
if ((messages.items?.length ?? 0) < 2) failures.push("the shopper has fewer than two messages");

// The admin reads the order's history, after a reload: the authorization is remembered.
await authorize(admin.access_token);
await page.reload();
await page.waitForSelector(".opblock");
await service("order-svc");
const history = await expect("admin", "admin_order_history", 200, { params: { id: order.id } });
const events = (history.events ?? []).map((e) => e.event);
if (!events.includes("refund_requested") || events.at(-1) !== "finished") {
  failures.push(`the history reads ${events}`);
}

// Every spec, chosen in the selector, shows all its operations.
for (const name of ["user-svc", "order-svc", "payment-svc", "stock-svc", "delivery-svc", "notify-svc"]) {
  await service(name);
  const short = name.replace("-svc", "");
  const spec = await (await fetch(`${front}/${short}/openapi.json`)).json();
  const want = Object.values(spec.paths).reduce((n, ops) => n + Object.keys(ops).length, 0);
  const shown = await page.locator(".opblock").count();
  if (shown !== want) failures.push(`${name}: the page shows ${shown} operations of ${want}`);
  else step(`${name}: all ${want} operations shown`);
}

await browser.close();
for (const f of failures) console.error(`swagger-ui journey: FAILED: ${f}`);
process.exit(failures.length ? 1 : 0);
