import { test, expect, Page } from "@playwright/test";
import { newestAccepted, STREAM } from "./demo";

// "Which release has my fix?" on the demo: the header's search box is a GET form, so the
// same steps run hydrated and without JavaScript; hydrated, it also suggests while typing.

type Found = { kind: string; key: string; title: string; first_promoted: string | null; appearances: { stream: string }[] };

/** A pull request of STREAM that the newest 4-scos-stable release promoted, and a bug a
 * pull request fixed, found through the API from that release's changelog. */
async function demoChange(page: Page): Promise<{ pull: string; bug: string; promoted: string }> {
  const list = await page.request.get("/api/v1/streams/4-scos-stable/releases?limit=1");
  const stable = (await list.json()).releases[0].name;
  const detail = await (await page.request.get(`/api/v1/releases/${stable}?stream=4-scos-stable`)).json();
  const urls: string[] = (detail.changelog?.updated_images ?? []).flatMap(
    (i: { commits?: { pull_url?: string }[] }) => (i.commits ?? []).map((c) => c.pull_url ?? ""),
  );
  let pull: Found | undefined;
  let bug = "";
  for (const url of urls.filter((u) => u)) {
    const answer = await page.request.get(`/api/v1/search?q=${encodeURIComponent(url)}`);
    expect(answer.status()).toBe(200);
    const found: Found = (await answer.json()).found[0];
    const fixes = /^(OCPBUGS-\d+):/.exec(found.title);
    if (fixes && !bug) bug = fixes[1];
    if (!pull && found.first_promoted && found.appearances.some((a) => a.stream === STREAM)) pull = found;
    if (pull && bug) break;
  }
  expect(pull, `a pull request of ${STREAM} promoted in ${stable}`).toBeTruthy();
  expect(bug, "a bug fixed by a pull request").not.toBe("");
  return { pull: pull!.key, bug, promoted: pull!.first_promoted! };
}

async function searchFor(page: Page, q: string) {
  await page.getByRole("searchbox", { name: /Search releases/ }).fill(q);
  await page.getByRole("search").first().getByRole("button", { name: "Search" }).click();
}

test("the header's search says where a pull request and a bug first appeared", async ({ page }) => {
  const { pull, bug, promoted } = await demoChange(page);
  await page.goto(`/streams/${STREAM}`);
  await searchFor(page, pull);
  await expect(page).toHaveURL(/\/search\?q=/);
  const found = page.locator("section.found").first();
  await expect(found.getByRole("heading", { level: 2 })).toContainText(pull);
  await expect(found.locator(".answer")).toHaveText(new RegExp(`^First in \\S+ \\(.+\\)\\. .*First promoted in ${promoted.replace(/\./g, "\\.")} \\(4-scos-stable\\)\\.$`));
  const first = found.locator(`table.appearances tr[data-stream="${STREAM}"] td`).nth(1);
  const release = ((await first.textContent()) ?? "").trim();
  expect(release).toMatch(/^4\.21\.0-0\.okd-scos-/);

  await searchFor(page, bug.toLowerCase());
  await expect(page.locator("section.found").first().getByRole("heading", { level: 2 })).toContainText(bug);
  await expect(page.locator(".search-summary")).toContainText(`bug ${bug}`);

  await page.goto(`/search?q=${encodeURIComponent(pull)}`);
  // The "First release" cell: the "First accepted" cell names the same release when it was accepted.
  await page.locator(`section.found table.appearances tr[data-stream="${STREAM}"] td`).nth(1).getByRole("link", { name: release }).click();
  await expect(page.getByRole("heading", { level: 1 })).toContainText(release);
});

test("a release name's start lists the releases, and nothing found says what was searched", async ({ page }) => {
  await page.goto("/");
  await searchFor(page, `${STREAM}-20`);
  const rows = page.locator("section.release-hits tbody tr");
  await expect(rows.first()).toBeVisible();
  expect(await rows.count()).toBeGreaterThan(1);
  await searchFor(page, "OCPBUGS-1");
  await expect(page.locator(".search-summary")).toHaveText("Nothing found for bug OCPBUGS-1: no release, component or change Streamgate has read matches it.");
});

test("typing suggests components, releases and pull requests", async ({ page }, info) => {
  test.skip(info.project.name === "no-js", "suggestions need JavaScript; the form works without");
  await page.goto("/");
  const box = page.getByRole("searchbox", { name: /Search releases/ });
  const suggestion = page.locator("ul.suggestions a[data-kind='component']", { hasText: "haproxy-router" });
  // typing before the page hydrated suggests nothing: type again until it has
  await expect(async () => {
    await box.fill("");
    await box.pressSequentially("haproxy", { delay: 20 });
    await expect(suggestion).toBeVisible({ timeout: 1_000 });
  }).toPass({ timeout: 15_000 });
  await suggestion.click();
  await expect(page.getByRole("heading", { level: 1 })).toContainText("haproxy-router");
});

test("a release says in one line what changed since the previous accepted one", async ({ page }) => {
  const release = await newestAccepted(page);
  await page.goto(`/releases/${release}?stream=${STREAM}`);
  const line = page.locator("p.since-accepted");
  await expect(line).toHaveText(/^Since the previous accepted release, 4\.21\.0-0\.okd-scos-\S+ \((the release|\d+ releases) before this one\): .*\d+ pull requests?.*Compare$/);
  await line.getByRole("link", { name: "Compare" }).click();
  await expect(page).toHaveURL(new RegExp(`/compare/[^/]+/${release}$`));
});
