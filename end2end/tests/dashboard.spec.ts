import { test, expect, Page, TestInfo } from "@playwright/test";
import { hydrated, signUpAndLogIn } from "./support";

async function shot(page: Page, testInfo: TestInfo, name: string) {
  await page.screenshot({ path: testInfo.outputPath(`${name}.png`), fullPage: true });
}

test("an owner sets the store's policies, awards by order total and sees the overview charts and fee wallet", async ({ page }, testInfo) => {
  test.setTimeout(120_000);
  const stamp = Date.now();
  await signUpAndLogIn(page, `settings-${stamp}@example.com`, "correct horse battery");

  // A store with a point system confirmed on the development chain.
  await page.getByLabel("Name").fill(`Tea House ${stamp}`);
  await page.getByRole("button", { name: "Create store" }).click();
  const row = page.locator("tr", { hasText: `Tea House ${stamp}` });
  await expect(row).toBeVisible();
  await row.getByRole("link", { name: "Points" }).click();
  await hydrated(page);
  await page.getByLabel(/^Symbol/).pressSequentially(`TEA${stamp}`);
  await page.getByLabel("Name", { exact: true }).fill("Tea points");
  await page.getByLabel(/^Issuer avatar/).fill(`tea-${stamp}`);
  await page.getByRole("button", { name: "Register point system" }).click();
  await expect(page.getByTestId("point-system-status")).toHaveAttribute("data-status", "confirmed", { timeout: 60_000 });
  const storePath = new URL(page.url()).pathname.replace(/\/points$/, "");

  // Settings: a bad earn rate is refused next to its field, then valid values are saved.
  await page.goto(`${storePath}/settings`);
  await hydrated(page);
  await expect(page.getByText("Following the platform's setting (3)")).toBeVisible();
  await page.getByLabel(/^Required confirmations/).fill("1");
  await page.getByLabel(/^Default earn rate/).fill("0");
  await page.getByRole("button", { name: "Save settings" }).click();
  await expect(page.locator('[data-error-for="earn_rate"]')).toContainText("greater than 0");
  await page.reload();
  await expect(page.getByLabel(/^Required confirmations/)).toHaveValue("");
  await expect(page.getByLabel(/^Default earn rate/)).toHaveValue("1");
  await hydrated(page);
  await page.getByLabel(/^Required confirmations/).fill("1");
  await page.getByLabel(/^Batch window/).fill("250");
  await page.getByLabel(/^Default earn rate/).fill("2.5");
  await page.getByRole("button", { name: "Save settings" }).click();
  await expect(page.getByText("Settings saved.")).toBeVisible();
  await expect(page.getByLabel(/^Default earn rate/)).toHaveValue("2.5");
  await expect(page.getByLabel(/^Required confirmations/)).toHaveValue("1");
  await shot(page, testInfo, "01-settings-saved");

  // A customer gets points for an order total at the store's rate: 10.00 earns 25.
  await page.goto(`${storePath}/customers`);
  await hydrated(page);
  await page.getByLabel("Customer id in your shop").fill("T-1");
  await page.getByLabel("Customer e-mail").fill(`tom-${stamp}@example.com`);
  await page.getByRole("button", { name: "Add customer" }).click();
  await expect(page).toHaveURL(/\/customers\/\d+$/);
  await hydrated(page);
  await expect(page.getByTestId("earn-rate")).toContainText("2.5 points per currency unit");
  await page.getByLabel("Or the order total").fill("10.00");
  await page.getByRole("button", { name: "Award points" }).click();
  const award = page.locator("tr[data-operation-id]").first();
  await expect(award).toContainText("25");
  await expect(award).toHaveAttribute("data-state", "confirmed", { timeout: 30_000 });
  await shot(page, testInfo, "02-award-by-order-total");

  // The overview, linked from the store list: totals, three charts with text, the fee wallet.
  await page.goto("/dashboard");
  await page.locator("tr", { hasText: `Tea House ${stamp}` }).getByTestId("store-overview-link").click();
  await expect(page).toHaveURL(new RegExp(`${storePath}$`));
  // The server-rendered charts survive hydration without errors.
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));
  await page.reload();
  await hydrated(page);
  await expect(page.getByTestId("total-issued")).toContainText("25");
  await expect(page.getByTestId("total-outstanding")).toContainText("25");
  await expect(page.getByTestId("total-customers")).toHaveText("1");
  for (const chart of ["issued", "redeemed", "outstanding"]) {
    const svg = page.locator(`svg[data-chart="${chart}"]`);
    await expect(svg).toBeVisible();
    await expect(svg).toHaveAttribute("role", "img");
  }
  await expect(page.getByRole("img", { name: /Points issued per day/ })).toBeVisible();
  await expect(page.locator('svg[data-chart="issued"] rect.bar')).toHaveCount(30);
  await expect(page.getByTestId("fee-wallet-balance")).toContainText(/\d+\.\d{8} ETP/);
  await expect(page.getByTestId("fee-wallet-outputs")).toHaveText(/^\d+$/);
  expect(errors).toEqual([]);
  await shot(page, testInfo, "03-store-overview");
});
