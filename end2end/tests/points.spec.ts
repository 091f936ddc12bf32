import { test, expect, Page, TestInfo } from "@playwright/test";
import { waitForMail, hydrated } from "./support";
import { readFileSync } from "node:fs";

async function shot(page: Page, testInfo: TestInfo, name: string) {
  await page.screenshot({ path: testInfo.outputPath(`${name}.png`), fullPage: true });
}

/** Signs up, confirms the mailed link and logs in; ends on the dashboard. */
async function signUpAndLogIn(page: Page, testInfo: TestInfo, email: string, password: string, prefix = "") {
  await page.goto("/signup");
  await hydrated(page);
  await page.getByLabel("E-mail address").fill(email);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByLabel("Repeat the password").fill(password);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByTestId("signup-done")).toContainText("Check your mail");
  await shot(page, testInfo, `${prefix}01-signed-up`);

  const mail = await waitForMail(email, "Confirm your pointmint account");
  const link = mail.match(/https?:\/\/[^\s"<]+\/verify-email\?token=[0-9a-f]{64}/)![0];
  await page.goto(link);
  await hydrated(page);
  await page.getByRole("button", { name: "Confirm my e-mail address" }).click();
  await expect(page).toHaveURL(/\/login\?verified=1$/);

  await hydrated(page);
  await page.getByLabel("E-mail address").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page).toHaveURL(/\/dashboard$/);
  await shot(page, testInfo, `${prefix}02-dashboard`);
}

test("an operator creates a store, registers a point system and awards a customer points, all confirmed on the development chain", async ({ page }, testInfo) => {
  test.setTimeout(120_000);
  const stamp = Date.now();
  const email = `points-${stamp}@example.com`;
  await signUpAndLogIn(page, testInfo, email, "correct horse battery");

  // A store.
  await hydrated(page);
  await page.getByLabel("Name").fill(`Corner Bakery ${stamp}`);
  await page.getByRole("button", { name: "Create store" }).click();
  const row = page.locator("tr", { hasText: `Corner Bakery ${stamp}` });
  await expect(row).toBeVisible();
  await shot(page, testInfo, "03-store-created");

  // Its points page: no point system yet.
  await row.getByRole("link", { name: "Points" }).click();
  await expect(page).toHaveURL(/\/dashboard\/stores\/\d+\/points$/);
  await expect(page.getByTestId("no-point-system")).toBeVisible();
  await hydrated(page);

  // The symbol is checked while it is typed.
  const symbol = page.getByLabel(/^Symbol/);
  // The form sits in a Transition that hydrates after <body> is marked hydrated: keys typed
  // before its input handler is attached reach no check, so type again until one answers.
  await expect(async () => {
    await symbol.fill("");
    await symbol.pressSequentially("MY.TOKEN");
    await expect(page.locator('[data-error-for="symbol"]')).toHaveText(/reserved word/, { timeout: 3_000 });
  }).toPass({ timeout: 20_000 });
  await symbol.fill("");
  await symbol.pressSequentially("bakery");
  await expect(page.locator('[data-error-for="symbol"]')).toHaveText("Use only capital letters A-Z, digits and dots in the symbol.");
  await shot(page, testInfo, "04-invalid-symbol");

  // Submitting an invalid symbol is refused next to the field and registers nothing.
  await page.getByLabel("Name", { exact: true }).fill("Bakery points");
  await page.getByLabel(/^Issuer avatar/).fill(`bakery-${stamp}`);
  await page.getByRole("button", { name: "Register point system" }).click();
  await expect(page.locator('[data-error-for="symbol"]')).toBeVisible();
  await expect(page.getByTestId("point-system-status")).toHaveCount(0);

  // A valid registration, then the status follows the chain without a reload.
  const valid = `BAKERY${stamp}`;
  await symbol.fill("");
  await symbol.pressSequentially(valid);
  await expect(page.locator('[data-error-for="symbol"]')).toHaveCount(0);
  await page.getByRole("button", { name: "Register point system" }).click();
  await expect(page).toHaveURL(/\/points\?registered=1$/);
  await expect(page.getByTestId("point-symbol")).toHaveText(valid);
  await shot(page, testInfo, "05-point-system-registered");

  // Mark the document: a reload would lose this, so it proves the page updated in place.
  await page.evaluate(() => ((window as any).__noReload = true));
  await expect(page.getByTestId("point-system-status")).toHaveAttribute("data-status", "confirmed", { timeout: 30_000 });
  await expect(page.getByTestId("point-system-state")).toHaveText("Confirmed on chain");
  await expect(page.getByTestId("issue-txid")).toHaveText(/^[0-9a-f]{64}$/);
  expect(await page.evaluate(() => (window as any).__noReload)).toBe(true);
  await shot(page, testInfo, "06-point-system-confirmed");

  // A customer.
  await page.getByRole("link", { name: "Customers" }).click();
  await expect(page).toHaveURL(/\/customers$/);
  await expect(page.getByTestId("no-customers")).toBeVisible();
  await hydrated(page);
  await page.getByLabel("Customer id in your shop").fill("C-1001");
  await page.getByLabel("Customer e-mail").fill(`mia-${stamp}@example.com`);
  await page.getByLabel("Customer name (optional)").fill("Mia Example");
  await page.getByRole("button", { name: "Add customer" }).click();
  await expect(page).toHaveURL(/\/customers\/\d+$/);
  await expect(page.getByRole("heading", { name: "Mia Example" })).toBeVisible();
  await expect(page.getByTestId("no-operations")).toBeVisible();
  await shot(page, testInfo, "07-customer-created");

  // Award points and watch the award confirm in place.
  await hydrated(page);
  await page.evaluate(() => ((window as any).__noReload = true));
  await page.getByLabel("Points to award").fill("250");
  await page.getByRole("button", { name: "Award points" }).click();
  await expect(page).toHaveURL(/\?operation=\d+$/);
  const award = page.locator("tr[data-operation-id]").first();
  await expect(award).toBeVisible();
  await shot(page, testInfo, "08-award-queued");
  // What is typed meanwhile survives the page's updates.
  await page.getByLabel("Points to redeem").fill("7");
  await expect(award).toHaveAttribute("data-state", "confirmed", { timeout: 30_000 });
  await expect(page.getByLabel("Points to redeem")).toHaveValue("7");
  await expect(award.getByTestId("operation-progress")).toHaveText(/^Confirmed in block \d+$/);
  await expect(award.getByTestId("operation-txid")).toHaveText(/^[0-9a-f]{64}$/);
  await expect(page.getByTestId("balance-available")).toContainText("250");
  expect(await page.evaluate(() => (window as any).__noReload)).toBe(true);
  await shot(page, testInfo, "09-award-confirmed");

  // Redeeming more than the balance is refused next to the amount; nothing changes.
  await page.getByLabel("Points to redeem").fill("1000");
  await page.getByRole("button", { name: "Redeem points" }).click();
  await expect(page.locator('[data-form="redeem"] [data-error-for="amount"]')).toHaveText("That is more points than are available.");
  await expect(page.locator("tr[data-operation-id]")).toHaveCount(1);
  await expect(page.getByTestId("balance-available")).toContainText("250");
  await shot(page, testInfo, "10-redeem-over-balance");

  // More than the treasury holds (the maximum supply) cannot be awarded either.
  await page.getByLabel("Points to award").fill("2000000000");
  await page.getByRole("button", { name: "Award points" }).click();
  await expect(page.locator('[data-form="award"] [data-error-for="amount"]')).toHaveText("That is more points than are available.");
  await expect(page.locator("tr[data-operation-id]")).toHaveCount(1);
  await shot(page, testInfo, "11-award-over-supply");

  // A staff member may award but not redeem or adjust: no such forms, and the server refuses.
  const customerUrl = page.url().replace(/\?.*$/, "");
  const storePath = new URL(customerUrl).pathname.replace(/\/customers\/\d+$/, "");
  const staffEmail = `sam-${stamp}@example.com`;
  await page.goto(`${storePath}/staff`);
  await hydrated(page);
  await page.getByLabel("E-mail address").fill(staffEmail);
  await page.getByRole("button", { name: "Send invitation" }).click();
  await expect(page.getByRole("status")).toContainText("Invitation sent.");

  const staffContext = await page.context().browser()!.newContext();
  const sam = await staffContext.newPage();
  await signUpAndLogIn(sam, testInfo, staffEmail, "another good password", "staff-");
  const invitation = await waitForMail(staffEmail, "invited to work on");
  await sam.goto(invitation.match(/https?:\/\/[^\s"<]+\/invitations\/accept\?token=[0-9a-f]{64}/)![0]);
  await hydrated(sam);
  await sam.getByRole("button", { name: "Accept the invitation" }).click();
  await expect(sam).toHaveURL(/\/staff$/);
  await sam.goto(customerUrl);
  await hydrated(sam);
  await expect(sam.getByText("Redeeming and adjusting need a manager or owner.")).toBeVisible();
  await expect(sam.getByRole("button", { name: "Redeem points" })).toHaveCount(0);
  await expect(sam.getByRole("button", { name: "Adjust points" })).toHaveCount(0);
  const [storeId, customerId] = customerUrl.match(/stores\/(\d+)\/customers\/(\d+)$/)!.slice(1);
  const refused = await sam.evaluate(
    async ([store, customer]) => {
      const body = new URLSearchParams({ store_id: store, customer_id: customer, kind: "redeem", amount: "10" });
      const response = await fetch("/fn/move_points", { method: "POST", body });
      return [response.status, await response.json()];
    },
    [storeId, customerId],
  );
  expect(refused).toEqual([403, "Forbidden"]);
  await sam.reload();
  await expect(sam.locator("tr[data-operation-id]")).toHaveCount(1);
  await expect(sam.getByTestId("balance-available")).toContainText("250");
  await shot(sam, testInfo, "12-staff-cannot-redeem");
  await staffContext.close();

  // The store's operations, filtered, and downloaded as CSV.
  await page.goto(`${storePath}/operations`);
  await expect(page.locator("tr[data-operation-id]")).toHaveCount(1);
  await page.getByLabel("Kind").selectOption("redeem");
  await page.getByRole("button", { name: "Filter" }).click();
  await expect(page).toHaveURL(/kind=redeem/);
  await expect(page.getByTestId("no-operations")).toHaveText("No operation matches these filters.");
  await page.getByLabel("Kind").selectOption("award");
  await page.getByRole("button", { name: "Filter" }).click();
  await expect(page.locator('tr[data-kind="award"]')).toHaveCount(1);
  await shot(page, testInfo, "13-operations");
  const downloading = page.waitForEvent("download");
  await page.getByRole("link", { name: "Download as CSV" }).click();
  const download = await downloading;
  const csvPath = testInfo.outputPath("operations.csv");
  await download.saveAs(csvPath);
  const csv = readFileSync(csvPath, "utf8").trim().split(/\r?\n/);
  expect(csv[0]).toBe("id,created_at,kind,amount,from,to,state,txid,height,reason,error");
  expect(csv).toHaveLength(2);
  expect(csv[1]).toMatch(/,award,250,treasury,C-1001,confirmed,[0-9a-f]{64},\d+,,$/);
});

test("the dashboard's forms work before the wasm loads", async ({ browser }, testInfo) => {
  test.setTimeout(120_000);
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  const stamp = Date.now();
  const email = `nojs-${stamp}@example.com`;
  const password = "correct horse battery";

  await page.goto("/signup");
  await page.getByLabel("E-mail address").fill(email);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByLabel("Repeat the password").fill(password);
  await page.getByRole("button", { name: "Create account" }).click();
  const mail = await waitForMail(email, "Confirm your pointmint account");
  await page.goto(mail.match(/https?:\/\/[^\s"<]+\/verify-email\?token=[0-9a-f]{64}/)![0]);
  await page.getByRole("button", { name: "Confirm my e-mail address" }).click();
  await page.getByLabel("E-mail address").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page).toHaveURL(/\/dashboard$/);

  await page.getByLabel("Name").fill(`No Script Shop ${stamp}`);
  await page.getByRole("button", { name: "Create store" }).click();
  await page.locator("tr", { hasText: `No Script Shop ${stamp}` }).getByRole("link", { name: "Points" }).click();

  // A bad symbol comes back next to its field; a good one registers.
  await page.getByLabel(/^Symbol/).fill("NO.ETP");
  await page.getByLabel("Name", { exact: true }).fill("Shop points");
  await page.getByLabel(/^Issuer avatar/).fill(`noscript-${stamp}`);
  await page.getByRole("button", { name: "Register point system" }).click();
  await expect(page).toHaveURL(/\?error=symbol_reserved_word$/);
  await expect(page.locator('[data-error-for="symbol"]')).toHaveText(/reserved word/);
  await page.getByLabel(/^Symbol/).fill(`NOJS${stamp}`);
  await page.getByLabel("Name", { exact: true }).fill("Shop points");
  await page.getByLabel(/^Issuer avatar/).fill(`noscript-${stamp}`);
  await page.getByRole("button", { name: "Register point system" }).click();
  await expect(page).toHaveURL(/\?registered=1$/);
  await expect
    .poll(async () => {
      await page.reload();
      return page.getByTestId("point-system-status").getAttribute("data-status");
    }, { timeout: 30_000 })
    .toBe("confirmed");

  // A customer, an award, and an adjustment without a reason refused next to its field.
  await page.getByRole("link", { name: "Customers" }).click();
  await page.getByLabel("Customer id in your shop").fill("N-1");
  await page.getByLabel("Customer e-mail").fill(`nojs-customer-${stamp}@example.com`);
  await page.getByRole("button", { name: "Add customer" }).click();
  await expect(page).toHaveURL(/\/customers\/\d+$/);
  await page.getByLabel("Points to award").fill("40");
  await page.getByRole("button", { name: "Award points" }).click();
  await expect(page).toHaveURL(/\?operation=\d+$/);
  await expect
    .poll(async () => {
      await page.reload();
      return page.locator("tr[data-operation-id]").first().getAttribute("data-state");
    }, { timeout: 30_000 })
    .toBe("confirmed");
  await page.getByLabel("Points to adjust").fill("5");
  await page.getByLabel("Reason").fill(" ");
  await page.getByRole("button", { name: "Adjust points" }).click();
  await expect(page).toHaveURL(/form=adjust&error=reason_required$/);
  await expect(page.locator('[data-form="adjust"] [data-error-for="reason"]')).toHaveText("Give a reason for the adjustment.");
  await expect(page.locator('[data-form="award"] [role="alert"]')).toHaveCount(0);
  await expect(page.locator("tr[data-operation-id]")).toHaveCount(1);
  await shot(page, testInfo, "no-js-customer");
  await context.close();
});

test("the points page needs a session", async ({ page }) => {
  await page.goto("/dashboard/stores/1/points");
  await expect(page).toHaveURL(/\/login\?next=\/dashboard\/stores\/1\/points$/);
});
