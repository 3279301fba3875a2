import { test, expect } from "@playwright/test";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { newestAccepted, plannedName, signIn, STREAM, TARGET } from "./demo";

// Promotion through the UI, against the demo with its registry (`./dev e2e` passes its
// address as DEMO_REGISTRY): the demo's targets promote OKD/SCOS 4.21 CI releases to
// 4-scos-next within that registry. Each run promotes once per project (hydrated and
// no-JS), so the new names count up.
const registry = process.env.DEMO_REGISTRY ?? "";

function skopeo(...args: string[]): string {
  return execFileSync("skopeo", args, { encoding: "utf8", timeout: 60_000 });
}

/** `release-manifests/image-references` of the payload at `spec`, read from its layers. */
function imageReferences(spec: string): { spec: { tags: { name: string; from: { name: string } }[] } } {
  const dir = mkdtempSync(join(tmpdir(), "payload-"));
  try {
    skopeo("copy", "-q", "--src-tls-verify=false", `docker://${spec}`, `dir:${dir}`);
    for (const file of readdirSync(dir)) {
      try {
        const text = execFileSync("tar", ["-xzOf", join(dir, file), "release-manifests/image-references"], {
          encoding: "utf8",
          stdio: ["ignore", "pipe", "ignore"],
        });
        if (text.trim()) return JSON.parse(text);
      } catch {
        // not a layer, or a layer without the file
      }
    }
    throw new Error(`no image-references in ${spec}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("anonymous visitors see no promote button and cannot post a promotion", async ({ page }) => {
  test.skip(!registry, "needs the demo registry");
  const release = await newestAccepted(page);
  await page.goto(`/releases/${release}?stream=${STREAM}`);
  await expect(page.getByRole("heading", { name: "Promotion" })).toBeVisible();
  await expect(page.getByRole("link", { name: /Review promotion/ })).toHaveCount(0);
  await expect(page.getByText("Maintainers can promote this release to")).toBeVisible();

  const direct = await page.request.post("/promotions", {
    form: { target: TARGET, stream: STREAM, release, expected_name: "x" },
    maxRedirects: 0,
  });
  expect([401, 303]).toContain(direct.status());
  const api = await page.request.post("/api/v1/promotions", {
    data: { target: TARGET, stream: STREAM, release },
  });
  expect(api.status()).toBe(401);
});

test("a maintainer reviews the plan, promotes, watches it finish and the target has it", async ({ page }) => {
  test.skip(!registry, "needs the demo registry");
  test.setTimeout(180_000);
  const release = await newestAccepted(page);
  await signIn(page, `/releases/${release}?stream=${STREAM}`);
  await expect(page).toHaveURL(new RegExp(`/releases/${release}`));

  // a cross-site form post carrying the session cookie is refused
  const crossSite = await page.request.post("/promotions", {
    form: { target: TARGET, stream: STREAM, release, expected_name: "x", csrf: "x" },
    headers: { "Sec-Fetch-Site": "cross-site", Origin: "https://evil.example" },
    maxRedirects: 0,
  });
  expect(crossSite.status()).toBe(403);

  await page.getByRole("link", { name: `Review promotion to ${TARGET}` }).click();
  await expect(page).toHaveURL(/\/promote\//);
  const name = await plannedName(page);
  await expect(page.locator("dd.to-copy")).toContainText("images");
  await expect(page.locator("dd.gates")).toContainText("blocking jobs succeeded");
  await expect(page.locator("table.plan-images tbody tr").first()).toBeVisible();

  await page.getByRole("button", { name: `Promote as ${name}` }).click();
  await expect(page).toHaveURL(/\/promotions\/\d+$/);
  const id = page.url().split("/").pop();
  await expect(page.locator(".promotion-summary .promotion-state")).toHaveText("succeeded", { timeout: 120_000 });
  await expect(page.locator(".progress")).toContainText("100%");
  await expect(page.getByRole("heading", { name: "Release notes" })).toBeVisible();
  await expect(page.getByRole("link", { name: "Download as Markdown" })).toBeVisible();
  const pullSpec = ((await page.locator("code.result-pull-spec").textContent()) ?? "").trim();
  expect(pullSpec.startsWith(`${registry}/okd/scos-release@sha256:`)).toBe(true);

  // at the target: the payload resolves, names the mirror, and every image there resolves
  const promotion = await (await page.request.get(`/api/v1/promotions/${id}`)).json();
  expect(promotion.state).toBe("succeeded");
  expect(promotion.requested_by).toBe("maintainer");
  skopeo("inspect", "--raw", "--tls-verify=false", `docker://${pullSpec}`);
  skopeo("inspect", "--raw", "--tls-verify=false", `docker://${registry}/okd/scos-release:${name}`);
  const references = imageReferences(pullSpec);
  expect(references.spec.tags.length).toBe(promotion.plan.images.length);
  for (const tag of references.spec.tags) {
    expect(tag.from.name.startsWith(`${registry}/okd/scos-content@sha256:`)).toBe(true);
    skopeo("inspect", "--raw", "--tls-verify=false", `docker://${tag.from.name}`);
  }

  // the new release is in its target stream and lists where it came from
  await page.goto(`/releases/${name}?stream=${TARGET}`);
  await expect(page.getByText("Promoted by Streamgate from")).toBeVisible();
  await page.goto("/promotions");
  await expect(page.locator("table.promotions tbody tr").filter({ hasText: name })).toContainText("succeeded");

  await page.getByRole("button", { name: "Sign out" }).click();
});
