import { expect, Page } from "@playwright/test";

// What the browser tests know of the demo: its OKD/SCOS 4.21 CI stream, the promotion target
// that takes its releases, and the maintainer account.
export const STREAM = "4.21.0-0.okd-scos";
export const TARGET = "4-scos-next";

/** The newest accepted release of STREAM. */
export async function newestAccepted(page: Page): Promise<string> {
  const answer = await page.request.get(`/api/v1/streams/${STREAM}/releases?phase=Accepted&limit=1`);
  expect(answer.status()).toBe(200);
  const body = await answer.json();
  return body.releases[0].name;
}

/** Signs in as the demo maintainer, then goes to `next`. */
export async function signIn(page: Page, next: string) {
  await page.goto(`/sign-in?next=${encodeURIComponent(next)}`);
  await page.getByLabel("User name").fill("maintainer");
  await page.getByLabel("Password").fill("maintainer-demo");
  await page.getByRole("button", { name: "Sign in" }).click();
}


/** The new name on the plan page `page` shows, once the release's payload has been read (the
 * demo reads payloads in the background after start-up). */
export async function plannedName(page: Page): Promise<string> {
  for (let i = 0; i < 60; i++) {
    if ((await page.locator("dd.new-name").count()) > 0) break;
    await page.waitForTimeout(1000);
    await page.reload();
  }
  const name = ((await page.locator("dd.new-name").textContent()) ?? "").trim();
  expect(name).toMatch(/^4\.21\.0-okd-scos\.ec\.\d+$/);
  return name;
}

/** The job names of the demo's poisoned release (server/src/replay/hostile.rs). */
export const HOSTILE_JOBS = [
  "</title><script>alert(1)</script>",
  "<img src=x onerror=alert(1)>",
  "[click me](javascript:alert(1))",
];

/** The demo's poisoned release: the accepted release of STREAM with a job named like a
 * script element (the second-newest accepted when the demo was loaded). */
export async function poisonedRelease(page: Page): Promise<string> {
  const answer = await page.request.get(`/api/v1/streams/${STREAM}/releases?phase=Accepted&limit=10`);
  expect(answer.status()).toBe(200);
  for (const release of (await answer.json()).releases) {
    const detail = await page.request.get(`/api/v1/releases/${release.name}`);
    const gates: { name: string }[] = (await detail.json()).gates ?? [];
    if (gates.some((g) => g.name === HOSTILE_JOBS[0])) return release.name;
  }
  throw new Error(`no poisoned release among the newest accepted of ${STREAM}`);
}
