// Loads a breakdown-trace HTML report in headless Chromium and prints, as
// JSON: console errors, network requests other than the file itself, what
// the page drew, the statistics table, a tooltip sample, and writes a
// screenshot. Usage: node check.mjs REPORT.html SCREENSHOT.png
import { chromium } from "playwright-core";
import path from "node:path";

const [, , file, png] = process.argv;
const url = "file://" + path.resolve(file);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  const errors = [];
  const requests = [];
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("request", (r) => { if (r.url() !== url) requests.push(r.url()); });
  await page.goto(url);
  await page.waitForFunction(() => document.body.dataset.ready === "1", null, { timeout: 20000 });
  const drawn = await page.evaluate(() => ({
    bars: Number(document.body.dataset.bars),
    columns: Number(document.body.dataset.columns),
    legend: [...document.querySelectorAll("#legend input")].map((i) => [i.dataset.segment, i.checked]),
    stats: [...document.querySelectorAll("#stats tr")].map((tr) => [...tr.children].map((c) => c.textContent)),
    definitions: document.querySelectorAll("#defs tr").length - 1,
  }));
  // Hover the first bar: the tooltip lists that request's segments.
  const box = await page.locator("#bars").boundingBox();
  await page.mouse.move(box.x + 64 + 3, box.y + box.height - 40);
  const tooltip = await page.evaluate(() => {
    const t = document.getElementById("tip");
    return t.style.display === "block" ? t.innerText : "";
  });
  // Toggle decode on and check the page redraws without errors.
  await page.locator('#legend input[data-segment="decode"]').check();
  await page.screenshot({ path: png, fullPage: true });
  console.log(JSON.stringify({ errors, requests, tooltip, ...drawn }));
} finally {
  await browser.close();
}
