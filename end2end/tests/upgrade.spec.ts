import { test, expect, Page } from "@playwright/test";
import { newestAccepted } from "./demo";

// "Why does my cluster see no update from A to B?" on the demo: every answer its history
// holds, asked through the form (a plain GET form, so the same steps run hydrated and
// without JavaScript), and the stable stream's drawn upgrade graph.

const STABLE = "4-scos-stable";

type Edge = { from: string; to: string; success: number; failure: number; total: number };

async function stableReleases(page: Page): Promise<string[]> {
  const answer = await page.request.get(`/api/v1/streams/${STABLE}/releases?limit=200`);
  expect(answer.status()).toBe(200);
  return (await answer.json()).releases.map((r: { name: string }) => r.name);
}

async function edgesInto(page: Page, tag: string): Promise<Edge[]> {
  const answer = await page.request.get(`/api/v1/releases/${tag}?stream=${STABLE}`);
  expect(answer.status()).toBe(200);
  return (await answer.json()).upgrades_into;
}

async function verdict(page: Page, from: string, to: string): Promise<string> {
  const answer = await page.request.get(`/api/v1/upgrade?from=${from}&to=${to}`);
  expect(answer.status()).toBe(200);
  return (await answer.json()).verdict;
}

/** One pair of releases for each answer the demo holds. */
async function pairs(page: Page): Promise<Map<string, [string, string]>> {
  const found = new Map<string, [string, string]>();
  const releases = await stableReleases(page); // newest first
  for (const to of releases) {
    for (const e of await edgesInto(page, to)) {
      const v = e.success > 0 ? "offered" : e.failure > 0 ? "tested_failed" : "test_pending";
      if (!found.has(v)) found.set(v, [e.from, to]);
    }
  }
  found.set("not_promoted", [releases[0], await newestAccepted(page)]);
  // declared or not: known once the stable payloads were read (in the background at start-up)
  for (let attempt = 0; attempt < 60; attempt++) {
    for (const [i, to] of releases.entries()) {
      const tested = new Set((await edgesInto(page, to)).map((e) => e.from));
      for (const from of releases.slice(i + 1, i + 4).concat(releases.slice(0, 1))) {
        if (from === to || tested.has(from)) continue;
        const v = await verdict(page, from, to);
        if (!found.has(v)) found.set(v, [from, to]);
      }
      if (found.has("declared_untested") && found.has("not_declared")) return found;
    }
    await page.waitForTimeout(1000);
  }
  return found;
}

const HEADLINES: Record<string, RegExp> = {
  offered: /^Yes$/,
  tested_failed: /No: tested and failed/,
  not_promoted: /Not yet: the target is not promoted/,
  declared_untested: /No: declared but never tested \(not in the sample of 3\)/,
  not_declared: /No: not declared/,
};

test("the upgrade question answers each case through its form", async ({ page }, info) => {
  test.setTimeout(120_000);
  const found = await pairs(page);
  for (const verdict of Object.keys(HEADLINES)) {
    expect(found.has(verdict), `the demo has a "${verdict}" case`).toBe(true);
  }
  for (const [verdict, headline] of Object.entries(HEADLINES)) {
    const [from, to] = found.get(verdict)!;
    await page.goto("/upgrade");
    await page.getByLabel("My cluster runs").fill(from);
    await page.getByLabel("and is not offered").fill(to);
    await page.getByRole("button", { name: "Why?" }).click();
    await expect(page).toHaveURL(new RegExp(`/upgrade\\?from=${from.replace(/\./g, "\\.")}&to=`));
    const answer = page.locator(`section[data-verdict="${verdict}"]`);
    await expect(answer).toBeVisible();
    await expect(answer.getByRole("heading", { level: 2 })).toHaveText(headline);
    await expect(answer.locator("dd.promoted")).toContainText(verdict === "not_promoted" ? "No:" : "Yes");
    if (verdict === "declared_untested") {
      await expect(answer.locator("dd.declared")).toContainText("Yes, among the");
      await expect(answer.locator("dd.tested")).toContainText("never reported");
      // there is a way round, along offered updates, each a link
      await expect(answer.locator("ol.path li a").first()).toHaveText(from);
      await expect(answer.locator("ol.path li a").last()).toHaveText(to);
    }
    if (verdict === "tested_failed") {
      await expect(answer.locator("dd.tested")).toContainText("it failed");
    }
    await page.screenshot({
      path: `test-results/screens/${info.project.name}-upgrade-${verdict}.png`,
      fullPage: true,
    });
  }

  // asked from a release page, the question names that release
  const [from, to] = found.get("tested_failed")!;
  await page.goto(`/releases/${to}?stream=${STABLE}`);
  await expect(page.getByText("tested and failed, will not be offered").first()).toBeVisible();
  await page.getByLabel("My cluster runs").fill(from);
  await page.getByRole("button", { name: "Why?" }).click();
  await expect(page.locator('section[data-verdict="tested_failed"]')).toBeVisible();

  // a release nobody knows is a 404 that says what was asked
  const missing = await page.goto(`/upgrade?from=${from}&to=4.99.0-okd-scos.1`);
  expect(missing?.status()).toBe(404);
  await expect(page.getByText("4.99.0-okd-scos.1").first()).toBeVisible();
});

test("a promoted stream draws its upgrade graph on the server", async ({ page }, info) => {
  await page.goto(`/streams/${STABLE}`);
  const graph = page.locator("section#upgrade-graph");
  await expect(graph.getByRole("heading", { name: "Upgrade graph" })).toBeVisible();
  await expect(graph.locator("svg.graph path.edge-succeeded").first()).toBeAttached();
  await expect(graph.locator("svg.graph path.edge-failed").first()).toBeAttached();
  await expect(graph.locator("ul.legend")).toContainText("declared, never tested");
  // every release drawn links to its page
  const first = graph.locator("svg.graph a").first();
  await expect(first).toHaveAttribute("href", new RegExp(`^/releases/.+\\?stream=${STABLE}$`));
  await graph.screenshot({ path: `test-results/screens/${info.project.name}-upgrade-graph.png` });
});
