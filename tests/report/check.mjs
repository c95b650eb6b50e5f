// Loads a breakdown-trace HTML report in headless Chromium and prints, as
// JSON: console errors, network requests other than the file itself, the
// sections present, every table (cells as their exact JSON values from
// data-v), what the request chart drew, a tooltip sample, and writes a
// full-page screenshot. Usage: node check.mjs REPORT.html SCREENSHOT.png [WIDTH]
import { chromium } from "playwright-core";
import path from "node:path";

const [, , file, png, width] = process.argv;
const url = "file://" + path.resolve(file);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  const page = await browser.newPage({ viewport: { width: Number(width || 1200), height: 900 } });
  const errors = [];
  const requests = [];
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("request", (r) => { if (r.url() !== url) requests.push(r.url()); });
  const t0 = Date.now();
  await page.goto(url);
  await page.waitForFunction(() => document.body.dataset.ready === "1", null, { timeout: 60000 });
  const load_ms = Date.now() - t0;
  const drawn = await page.evaluate(() => ({
    sections: [...document.querySelectorAll("main > section")].map((s) => s.id),
    subtitle: document.getElementById("subtitle").textContent,
    bars: Number(document.body.dataset.bars || 0),
    columns: Number(document.body.dataset.columns || 0),
    legend: [...document.querySelectorAll("#legend input")].map((i) => [i.dataset.segment, i.checked]),
    tables: [...document.querySelectorAll("table[data-query]")].map((t) => ({
      section: t.closest("section") ? t.closest("section").id : null,
      query: t.dataset.query,
      columns: [...t.querySelectorAll("tr:first-child th")].map((c) => c.textContent),
      rows: [...t.querySelectorAll("tr")].slice(1).map((tr) => [...tr.children].map((c) => JSON.parse(c.dataset.v))),
      text: [...t.querySelectorAll("tr")].slice(1).map((tr) => [...tr.children].map((c) => c.textContent)),
    })),
    cdfs: [...document.querySelectorAll("[data-cdf]")].map((c) => c.dataset.cdf),
    charts: [...document.querySelectorAll("[data-chart]")].map((c) => c.dataset.chart),
    // Wider than the page: the document scrolls sideways.
    overflow_x: document.documentElement.scrollWidth > document.documentElement.clientWidth,
  }));
  let tooltip = "";
  const bars = page.locator("#bars");
  if (await bars.count()) {
    // Hover the first bar, low: the tooltip lists that column's segments.
    const box = await bars.boundingBox();
    await page.mouse.move(box.x + 70 + 2, box.y + box.height - 46);
    tooltip = await page.evaluate(() => {
      const t = document.getElementById("tip");
      return t.style.display === "block" ? t.innerText : "";
    });
    await page.mouse.move(0, 0);
  }
  await page.screenshot({ path: png, fullPage: true });
  // One screenshot per section too (a full page of every kind is too tall to read).
  for (const id of drawn.sections) {
    await page.locator("#" + id).screenshot({ path: png.replace(/\.png$/, "-" + id.replace(/^sec-/, "") + ".png") });
  }
  // Tick decode and check the page redraws without errors.
  const decode = page.locator('#legend input[data-segment="decode"]');
  if (await decode.count()) await decode.check();
  console.log(JSON.stringify({ errors, requests, tooltip, load_ms, ...drawn }));
} finally {
  await browser.close();
}
