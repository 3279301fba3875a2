import { test, expect } from "@playwright/test";
import { newestAccepted, plannedName, signIn, STREAM, TARGET } from "./demo";

// Live updates in the hydrated UI: pages follow the server's change stream and reload their
// data, not themselves. A marker set on `window` survives only if the page never reloaded.
// With JavaScript off there is nothing to follow; the other specs show those pages work.

test("open pages update without reloading while a promotion runs", async ({ browser, javaScriptEnabled }) => {
  test.skip(!javaScriptEnabled, "live updates need JavaScript");
  test.skip(!process.env.DEMO_REGISTRY, "needs the demo registry");
  test.setTimeout(180_000);

  // an anonymous visitor watches the target stream
  const watcher = await (await browser.newContext()).newPage();
  await watcher.goto(`/streams/${TARGET}`);
  await expect(watcher.locator("footer .live.on")).toHaveText("● Live", { timeout: 15_000 });
  await watcher.evaluate(() => ((window as unknown as { marker: number }).marker = 42));

  // a maintainer promotes the newest accepted CI release to it
  const maintainer = await (await browser.newContext()).newPage();
  const release = await newestAccepted(maintainer);
  await signIn(maintainer, `/promote/${release}?stream=${STREAM}&target=${TARGET}`);
  const name = await plannedName(maintainer);
  await expect(watcher.getByText(name)).toHaveCount(0);
  await maintainer.getByRole("button", { name: `Promote as ${name}` }).click();
  await expect(maintainer).toHaveURL(/\/promotions\/\d+$/);
  await maintainer.evaluate(() => ((window as unknown as { marker: number }).marker = 7));

  // the promotion's page follows it to the end, the target stream's page gets the release
  await expect(maintainer.locator(".promotion-summary .promotion-state")).toHaveText("succeeded", { timeout: 120_000 });
  await expect(watcher.locator("table").getByRole("link", { name })).toBeVisible({ timeout: 30_000 });
  expect(await maintainer.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(7);
  expect(await watcher.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(42);
  await expect(watcher.locator("footer .live.on")).toBeVisible();
});

test("the change stream refuses a scope that names no page", async ({ request }) => {
  const bad = await request.get("/api/v1/live?release=x");
  expect(bad.status()).toBe(400);
  expect((await bad.json()).errors[0].detail).toContain("release needs stream");
});
