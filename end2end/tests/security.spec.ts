import { test, expect, Page } from "@playwright/test";
import { HOSTILE_JOBS, poisonedRelease, STREAM } from "./demo";

// The demo holds a poisoned release: jobs named like markup, job, attempt, upgrade-run and
// changelog URLs `javascript:` and `data:`, hostile Markdown in a commit subject. Its page must
// render inert — no dialog, the names as text, none of those URLs a link — and every page must
// still hydrate under the Content-Security-Policy, without one violation.

/** Fails on any dialog, and collects Content-Security-Policy violations and page errors. */
function watch(page: Page): string[] {
  const problems: string[] = [];
  page.on("dialog", async (dialog) => {
    problems.push(`a ${dialog.type()} dialog opened: ${dialog.message()}`);
    await dialog.dismiss();
  });
  page.on("console", (message) => {
    if (/Content[ -]Security[ -]Policy/i.test(message.text())) problems.push(message.text());
  });
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  return problems;
}

const HOSTILE_LINKS =
  'a[href^="javascript:" i], a[href^="data:" i], a[href^="vbscript:" i], ' +
  '[src^="javascript:" i], [src^="data:text" i], img[src="x"]';

test("the poisoned release renders inert", async ({ page }) => {
  const problems = watch(page);
  const release = await poisonedRelease(page);
  const response = await page.goto(`/releases/${release}?stream=${STREAM}`);
  expect(response?.status()).toBe(200);
  const headers = response?.headers() ?? {};
  expect(headers["content-security-policy"]).toMatch(/script-src 'self' 'nonce-[\w-]+' 'wasm-unsafe-eval'/);
  expect(headers["content-security-policy"]).not.toContain("unsafe-inline");
  expect(headers["x-content-type-options"]).toBe("nosniff");
  expect(headers["x-frame-options"]).toBe("DENY");

  await expect(page.getByRole("heading", { level: 1 })).toHaveText(release);
  const informing = page.locator("table.gates").filter({ hasText: "Informing jobs" });
  for (const name of HOSTILE_JOBS) {
    const cell = informing.getByText(name, { exact: true });
    await expect(cell).toBeVisible();
    // neither the job nor its attempts are links: only its history on this site is
    // (the inner locator is relative to each row, so it starts from the page)
    const row = informing.locator("tbody tr").filter({ has: page.getByText(name, { exact: true }) });
    await expect(row).toHaveCount(1);
    await expect(row.getByRole("link")).toHaveCount(1);
    await expect(row.getByRole("link")).toHaveAttribute("href", /^\/jobs\/[^?]+\?stream=/);
    await cell.click();
  }
  await expect(page).toHaveURL(new RegExp(`/releases/${release.replace(/\./g, "\\.")}`));
  // the harmless upstream links still are links
  const aws = page.locator("table.gates").filter({ hasText: "Blocking jobs" }).getByRole("link", { name: "aws", exact: true });
  await expect(aws).toHaveAttribute("href", /^https:\/\/prow\.ci\.openshift\.org\/view\/gs\//);
  // the hostile upgrade runs and changelog links are text
  await expect(page.locator("table.upgrades span.run").first()).toBeVisible();
  await expect(page.getByText("[click me](javascript:alert('subject'))", { exact: false })).toBeVisible();
  await expect(page.locator("ul.images li").filter({ hasText: "onerror=alert('image')" }).first()).toBeVisible();
  await expect(page.locator(HOSTILE_LINKS)).toHaveCount(0);

  // the release it upgrades from, and the comparison, list the same data inertly
  await page.goto(`/streams/${STREAM}`);
  await expect(page.locator(HOSTILE_LINKS)).toHaveCount(0);

  // each hostile job's history page is titled by its name, as text
  for (const name of HOSTILE_JOBS) {
    const answer = await page.goto(`/jobs/${encodeURIComponent(name)}?stream=${STREAM}`);
    expect(answer?.status()).toBe(200);
    await expect(page.getByRole("heading", { level: 1 })).toContainText(name);
    await expect(page).toHaveTitle(`${name} in ${STREAM} · Streamgate`);
    await expect(page.locator(HOSTILE_LINKS)).toHaveCount(0);
  }

  // search shows hostile text searched for as text, and took nothing from the hostile
  // changelog: its bug key is markup and its pull request URL is data:
  await page.goto(`/search?q=${encodeURIComponent("<script>alert('q')</script>")}`);
  await expect(page.locator(".search-summary")).toContainText("<script>alert('q')</script>");
  await expect(page.locator(HOSTILE_LINKS)).toHaveCount(0);
  await page.goto("/search?q=OCPBUGS-0");
  await expect(page.locator(".search-summary")).toHaveText(/^Nothing found for bug OCPBUGS-0:/);
  await page.waitForTimeout(500);
  expect(problems).toEqual([]);
});

test("pages hydrate under the Content-Security-Policy", async ({ page, context }, info) => {
  test.skip(info.project.name === "no-js", "needs JavaScript");
  await context.grantPermissions(["clipboard-read", "clipboard-write"]);
  const problems = watch(page);
  const release = await poisonedRelease(page);
  await page.goto(`/releases/${release}?stream=${STREAM}`);
  // only the hydrated page answers the button
  const button = page.getByRole("button", { name: "Copy pull spec" });
  await expect(async () => {
    await button.click();
    await expect(button).toHaveText("Copied", { timeout: 500 });
  }).toPass({ timeout: 15_000 });
  await expect(page.locator(HOSTILE_LINKS)).toHaveCount(0);

  // the next page's islands come to life under the policy too: the footer follows the stream
  await page.locator("nav.crumbs").getByRole("link", { name: STREAM }).click();
  await expect(page).toHaveURL(new RegExp(`/streams/${STREAM.replace(/\./g, "\\.")}$`));
  await expect(page.locator("table.releases tbody tr").first()).toBeVisible();
  await expect(page.locator("footer .live.on")).toHaveText("● Live", { timeout: 15_000 });

  for (const path of ["/", "/promotions", "/badges", "/api/v1/docs", "/no/such/page"]) {
    await page.goto(path);
    await page.waitForLoadState("networkidle");
  }
  await page.waitForTimeout(500);
  expect(problems).toEqual([]);
});
