import { test, expect, Page } from "@playwright/test";
import { newestAccepted, STREAM } from "./demo";

// Screenshots land in end2end/test-results/screens/<project>-<name>.png.
async function shot(page: Page, name: string) {
  await page.screenshot({
    path: `test-results/screens/${test.info().project.name}-${name}.png`,
    fullPage: true,
  });
}

test("overview shows both OKD variants with health", async ({ page }) => {
  const response = await page.goto("/");
  expect(response?.status()).toBe(200);
  await expect(page.getByRole("heading", { name: "OKD release streams" })).toBeVisible();
  await expect(page.getByRole("heading", { name: "OKD/SCOS", exact: true })).toBeVisible();
  await expect(page.getByRole("heading", { name: "OKD/FCOS", exact: true })).toBeVisible();
  const scos = page.locator('article[data-stream="4.21.0-0.okd-scos"]');
  await expect(scos.getByRole("link", { name: "4.21.0-0.okd-scos", exact: true })).toBeVisible();
  await expect(scos.getByText("Accepted, 14 days")).toBeVisible();
  await expect(scos.locator("dl.latest a").first()).toHaveText(/^4\.21\.0-0\.okd-scos-\d{4}-\d{2}-\d{2}-\d{6}$/);
  await expect(page.locator('article[data-stream="4-scos-stable"]')).toBeVisible();
  await expect(page.locator('article[data-stream="4.15.0-0.okd"]')).toBeVisible();
  await expect(page.getByText(/last successful poll/).first()).toBeVisible();
  await shot(page, "overview");
});

test("overview → stream → rejected release shows the failed blocking job", async ({ page }) => {
  await page.goto("/");
  await page
    .locator('article[data-stream="4.21.0-0.okd-scos"]')
    .getByRole("link", { name: "4.21.0-0.okd-scos", exact: true })
    .click();
  await expect(page).toHaveURL(/\/streams\/4\.21\.0-0\.okd-scos$/);
  await expect(page.getByRole("heading", { level: 1 })).toContainText("4.21.0-0.okd-scos");
  const rows = page.locator("table.releases tbody tr");
  expect(await rows.count()).toBeGreaterThan(20);
  await shot(page, "stream");

  await page.getByRole("link", { name: "Rejected", exact: true }).click();
  await expect(page).toHaveURL(/phase=Rejected/);
  await expect(page.locator("table.releases tbody tr").first()).toBeVisible();
  // hydrated, the old rows stay until the filtered ones arrive
  await expect(page.locator("table.releases tbody tr .phase").filter({ hasNotText: "Rejected" })).toHaveCount(0);
  const phases = await page.locator("table.releases tbody tr .phase").allTextContents();
  expect(phases.length).toBeGreaterThan(0);
  expect(new Set(phases)).toEqual(new Set(["Rejected"]));

  await page.locator("table.releases tbody tr a").first().click();
  await expect(page).toHaveURL(/\/releases\/4\.21\.0-0\.okd-scos-/);
  await expect(page.locator(".verdict")).toContainText("Rejected because blocking job");
  const blocking = page.locator("table.gates").filter({ hasText: "Blocking jobs" });
  const failed = blocking.locator("td.state-failed").first();
  await expect(failed).toHaveText("Failed");
  const link = blocking.locator("tbody tr").filter({ has: page.locator("td.state-failed") }).getByRole("link").first();
  await expect(link).toHaveAttribute("href", /^https:\/\/prow\.ci\.openshift\.org\/view\/gs\//);
  // the demo's pull specs name its own registry (./dev e2e passes it as DEMO_REGISTRY)
  const registry = (process.env.DEMO_REGISTRY ?? "registry.ci.openshift.org").replace(/[.:]/g, "\\$&");
  await expect(page.locator("#pullspec")).toHaveText(new RegExp(`^${registry}/origin/release-scos:4\\.21\\.0-0\\.okd-scos-`));
  await expect(page.getByRole("heading", { name: "Upgrades" })).toBeVisible();
  await expect(page.getByRole("heading", { name: "Changelog" })).toBeVisible();
  await shot(page, "release-rejected");
});

test("a multi-arch release lists each component's platforms and where provenance differs", async ({ page }) => {
  const release = await newestAccepted(page);
  // the demo reads payloads in the background after start-up
  for (let i = 0; i < 60; i++) {
    await page.goto(`/releases/${release}?stream=${STREAM}`);
    if ((await page.locator("table.components").count()) > 0) break;
    await page.waitForTimeout(1000);
  }
  await expect(page.getByText("A multi-arch payload for linux/amd64, linux/arm64/v8.")).toBeVisible();
  await expect(page.getByText("1 component differs on another platform")).toBeVisible();
  await expect(page.getByRole("columnheader", { name: "Architectures" })).toBeVisible();
  const haproxy = page.locator('tr[data-component="haproxy-router"]');
  await expect(haproxy.locator(".prov").first()).toContainText("mirrored from OCP CI");
  await expect(haproxy.locator(".arches")).toHaveText("amd64 · arm64/v8");
  await expect(haproxy.locator('[data-platform="linux/arm64/v8"]')).toContainText("arm64/v8: built for OKD");
  const installer = page.locator('tr[data-component="installer"]');
  await expect(installer.locator(".arch-differs")).toHaveCount(0);
  await shot(page, "multi-arch-release");
});

test("pagination and expired history on the FCOS stream", async ({ page }) => {
  await page.goto("/streams/4.15.0-0.okd");
  await expect(page.locator(".expired").first()).toHaveText("expired upstream");
  const next = page.getByRole("link", { name: "Older →" });
  if (await next.count()) {
    await next.click();
    await expect(page).toHaveURL(/page=2/);
    await expect(page.locator(".pager")).toContainText("Page 2");
  }
  await page.locator("table.releases tbody tr a").first().click();
  await expect(page.locator(".expired-notice")).toContainText("Expired upstream");
});

test("unknown release and stream are real 404 pages", async ({ page }) => {
  const r1 = await page.goto("/releases/4.99.0-0.okd-scos-2099-01-01-000000");
  expect(r1?.status()).toBe(404);
  await expect(page.getByRole("heading", { name: "Not found" })).toBeVisible();
  const r2 = await page.goto("/streams/no-such-stream");
  expect(r2?.status()).toBe(404);
  const r3 = await page.goto("/no/such/page");
  expect(r3?.status()).toBe(404);
  await expect(page.getByRole("heading", { name: "Not found" })).toBeVisible();
});

test("copy button copies the pull spec once hydrated", async ({ page, context }, info) => {
  test.skip(info.project.name === "no-js", "needs JavaScript");
  await context.grantPermissions(["clipboard-read", "clipboard-write"]);
  await page.goto("/streams/4-scos-stable");
  await page.locator("table.releases tbody tr a").first().click();
  const spec = (await page.locator("#pullspec").textContent()) ?? "";
  expect(spec.startsWith(`${process.env.DEMO_REGISTRY ?? "quay.io"}/okd/scos-release:`)).toBe(true);
  const button = page.getByRole("button", { name: "Copy pull spec" });
  await expect(async () => {
    await button.click();
    await expect(button).toHaveText("Copied", { timeout: 500 });
  }).toPass({ timeout: 15_000 });
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  expect(copied).toBe(spec);
});

test("readable on a phone", async ({ page }) => {
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto("/");
  await expect(page.getByRole("heading", { name: "OKD/SCOS", exact: true })).toBeVisible();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(1);
  await shot(page, "phone-overview");
  await page.goto("/streams/4.21.0-0.okd-scos");
  await page.locator("table.releases tbody tr a").first().click();
  await shot(page, "phone-release");
});

test("no console errors while browsing", async ({ page }, info) => {
  test.skip(info.project.name === "no-js", "needs JavaScript");
  const errors: string[] = [];
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto("/");
  await page.goto("/streams/4.21.0-0.okd-scos?phase=Accepted");
  await page.locator("table.releases tbody tr a").first().click();
  await expect(page.locator(".verdict")).toContainText("Accepted");
  await page.waitForTimeout(500);
  expect(errors).toEqual([]);
});
