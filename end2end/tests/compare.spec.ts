import { test, expect } from "@playwright/test";

test("release page links to a comparison with the previous release", async ({ page }, info) => {
  await page.goto("/streams/4.21.0-0.okd-scos?phase=Rejected");
  await page.locator("table.releases tbody tr a").first().click();
  await expect(page.getByRole("heading", { name: "Components", level: 2 })).toBeVisible();
  await page.getByRole("link", { name: "compare with previous" }).click();
  await expect(page).toHaveURL(/\/compare\/4\.21\.0-0\.okd-scos-[\d-]+\/4\.21\.0-0\.okd-scos-[\d-]+$/);
  await expect(page.getByRole("heading", { name: "Compare releases" })).toBeVisible();
  await expect(page.getByRole("heading", { name: "Gates" })).toBeVisible();
  await page.screenshot({ path: `test-results/screens/${info.project.name}-compare.png`, fullPage: true });

  const missing = await page.goto("/compare/nope-1/nope-2");
  expect(missing?.status()).toBe(404);
});
