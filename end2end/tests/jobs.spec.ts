import { test, expect } from "@playwright/test";
import { newestAccepted, STREAM } from "./demo";

// "Is this job flaky?" and "what holds the stream back?" on the demo: from a release's gate
// to the job's history, and the stream's jobs ranked by what blocked acceptance. Links and
// GET forms only, so the same steps run hydrated and without JavaScript.

test("a gate links to its job's history with rates, streak and runs", async ({ page }) => {
  const release = await newestAccepted(page);
  await page.goto(`/releases/${release}?stream=${STREAM}`);
  const gate = page.locator("table.gates tr[data-gate]").first();
  const job = (await gate.getAttribute("data-gate")) ?? "";
  await gate.getByRole("link", { name: "history" }).click();
  await expect(page).toHaveURL(new RegExp(`/jobs/[^?]+\\?stream=${STREAM.replace(/\./g, "\\.")}$`));
  await expect(page.getByRole("heading", { level: 1 })).toContainText(job);
  await expect(page.locator("table.job-stats tr[data-days]")).toHaveCount(3);
  await expect(page.locator("table.job-stats tr[data-days='30'] .pass-rate")).toHaveText(/^\d+%$/);
  await expect(page.getByText(/(passed|failed) its newest/)).toBeVisible();
  await expect(page.locator(".run-strip rect.bar").first()).toBeAttached();
  const row = page.locator(`table.job-runs tr[data-release="${release}"]`);
  await expect(row).toBeVisible();
  await row.getByRole("link", { name: release }).click();
  await expect(page.getByRole("heading", { level: 1 })).toContainText(release);
});

test("the ranking puts what blocked acceptance first and links each job", async ({ page }) => {
  await page.goto("/jobs");
  await page.getByLabel("Stream").fill(STREAM);
  await page.getByRole("button", { name: "Show" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toContainText(`Jobs of ${STREAM}`);
  // the stream page links to the same ranking
  await page.goto(`/streams/${STREAM}`);
  await page.getByRole("link", { name: "What holds it back?" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toContainText(`Jobs of ${STREAM}`);
  const blocked = await page.locator("table.job-ranking td.blocked").allTextContents();
  expect(blocked.length).toBeGreaterThan(1);
  const counts = blocked.map(Number);
  expect(counts).toEqual([...counts].sort((a, b) => b - a));
  expect(counts[0]).toBeGreaterThan(0);
  // the demo has flaky jobs: some job passed only on a retry
  const flakes = await page.locator("table.job-ranking td.flake-rate").allTextContents();
  expect(flakes.some((f) => f !== "0%" && f !== "–")).toBe(true);
  const first = page.locator("table.job-ranking tbody tr").first();
  const name = (await first.getAttribute("data-job")) ?? "";
  await first.getByRole("link").click();
  await expect(page.getByRole("heading", { level: 1 })).toContainText(name);
});

test("an unknown job is a 404 page", async ({ page }) => {
  const response = await page.goto(`/jobs/no-such-job?stream=${STREAM}`);
  expect(response?.status()).toBe(404);
  await expect(page.getByText("Not found")).toBeVisible();
});
