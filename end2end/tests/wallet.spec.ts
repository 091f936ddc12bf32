// The customer wallet: a store awards points to customer A; A signs in with the link from the
// welcome mail, sees the balance and sends points to customer B by e-mail after a review step;
// B signs in by link and sees them; both wallets show the transfer confirmed on chain.
import { test, expect, Page, TestInfo } from "@playwright/test";
import { waitForMail, hydrated, linkIn } from "./support";

async function shot(page: Page, testInfo: TestInfo, name: string) {
  await page.screenshot({ path: testInfo.outputPath(`${name}.png`), fullPage: true });
}

/** An operator with a store whose point system is confirmed; ends on the customers page. */
async function storeWithPoints(page: Page, stamp: number): Promise<string> {
  const email = `wallet-op-${stamp}@example.com`;
  const password = "correct horse battery";
  await page.goto("/signup");
  await hydrated(page);
  await page.getByLabel("E-mail address").fill(email);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByLabel("Repeat the password").fill(password);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByTestId("signup-done")).toBeVisible();
  const confirm = linkIn(await waitForMail(email, "Confirm your pointmint account"), "/verify-email?token=");
  await page.goto(confirm);
  await hydrated(page);
  await page.getByRole("button", { name: "Confirm my e-mail address" }).click();
  await expect(page).toHaveURL(/\/login\?verified=1$/);
  await hydrated(page);
  await page.getByLabel("E-mail address").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page).toHaveURL(/\/dashboard$/);

  await hydrated(page);
  await page.getByLabel("Name").fill(`Wallet Cafe ${stamp}`);
  await page.getByRole("button", { name: "Create store" }).click();
  const row = page.locator("tr", { hasText: `Wallet Cafe ${stamp}` });
  await row.getByRole("link", { name: "Points" }).click();
  await expect(page.getByTestId("no-point-system")).toBeVisible();
  await hydrated(page);
  const symbol = `CAFE${stamp}`;
  await page.getByLabel(/^Symbol/).pressSequentially(symbol);
  await page.getByLabel("Name", { exact: true }).fill("Cafe points");
  await page.getByLabel(/^Issuer avatar/).fill(`cafe-${stamp}`);
  await page.getByRole("button", { name: "Register point system" }).click();
  await expect(page.getByTestId("point-system-status")).toHaveAttribute("data-status", "confirmed", { timeout: 30_000 });
  await page.getByRole("link", { name: "Customers" }).click();
  await expect(page).toHaveURL(/\/customers$/);
  return symbol;
}

async function addCustomer(page: Page, id: string, email: string) {
  await hydrated(page);
  await page.getByLabel("Customer id in your shop").fill(id);
  await page.getByLabel("Customer e-mail").fill(email);
  await page.getByRole("button", { name: "Add customer" }).click();
  await expect(page).toHaveURL(/\/customers\/\d+$/);
}

/** Opens the wallet with the link from the store's welcome mail. */
async function signInFromWelcomeMail(page: Page, email: string, javaScript = true) {
  const mail = await waitForMail(email, "Your loyalty points from");
  await page.goto(linkIn(mail, "/wallet/sign-in?token="));
  if (javaScript) await hydrated(page);
  await page.getByRole("button", { name: "Open my wallet" }).click();
  await expect(page).toHaveURL(/\/wallet$/);
  await expect(page.getByTestId("wallet-signed-in-as")).toHaveText(email);
}

test("a customer receives points, signs in by link and sends points to another customer who sees them confirmed", async ({ page, browser }, testInfo) => {
  test.setTimeout(150_000);
  const stamp = Date.now();
  const symbol = await storeWithPoints(page, stamp);
  const ann = `ann-${stamp}@example.com`;
  const ben = `ben-${stamp}@example.com`;

  // The store awards Ann 100 points and adds Ben.
  await addCustomer(page, "ANN", ann);
  await hydrated(page);
  await page.getByLabel("Points to award").fill("100");
  await page.getByRole("button", { name: "Award points" }).click();
  await expect(page.locator("tr[data-operation-id]").first()).toHaveAttribute("data-state", "confirmed", { timeout: 30_000 });
  await page.goto(page.url().replace(/\/customers\/\d+.*$/, "/customers"));
  await addCustomer(page, "BEN", ben);

  // Ann opens her wallet from the welcome mail and sees the balance.
  const annContext = await browser.newContext();
  const annPage = await annContext.newPage();
  await signInFromWelcomeMail(annPage, ann);
  const annBalance = annPage.locator(`tr[data-symbol="${symbol}"]`);
  await expect(annBalance.getByTestId("wallet-available")).toHaveText("100");
  await expect(annPage.getByTestId("address-qr").locator("svg")).toBeVisible();
  await shot(annPage, testInfo, "01-ann-wallet");

  // Send 40 to Ben by e-mail: review first, then confirm.
  await annPage.getByLabel("Amount").fill("40");
  await annPage.getByLabel(/^To:/).fill(ben);
  await annPage.getByRole("button", { name: "Review" }).click();
  await expect(annPage.getByTestId("send-review")).toBeVisible();
  await expect(annPage.getByTestId("review-recipient")).toHaveText(`the customer ${ben}`);
  await expect(annPage.getByTestId("review-amount")).toContainText(`40 ${symbol}`);
  await shot(annPage, testInfo, "02-ann-review");
  await hydrated(annPage);
  await annPage.getByRole("button", { name: `Send 40 ${symbol}` }).click();
  await expect(annPage).toHaveURL(/\/wallet\?sent_operation=\d+$/);
  const sentId = annPage.url().match(/sent_operation=(\d+)/)![1];
  const annTransfer = annPage.locator(`tr[data-operation-id="${sentId}"]`);
  await expect(annTransfer).toBeVisible();
  await shot(annPage, testInfo, "03-ann-sent");

  // The progress follows the chain in place (no reload) until confirmed.
  await hydrated(annPage);
  await annPage.evaluate(() => ((window as any).__noReload = true));
  await expect(annTransfer).toHaveAttribute("data-state", "confirmed", { timeout: 30_000 });
  await expect(annTransfer.getByTestId("operation-progress")).toHaveText(/^Confirmed in block \d+$/);
  await expect(annTransfer.getByTestId("operation-txid")).toHaveText(/^[0-9a-f]{64}$/);
  await expect(annBalance.getByTestId("wallet-available")).toHaveText("60");
  expect(await annPage.evaluate(() => (window as any).__noReload)).toBe(true);
  await shot(annPage, testInfo, "04-ann-confirmed");

  // Ben signs in by link and sees the 40 points and the same transfer, confirmed. His
  // browser runs no JavaScript: every step is a plain link, GET form or POST form.
  const benContext = await browser.newContext({ javaScriptEnabled: false });
  const benPage = await benContext.newPage();
  await signInFromWelcomeMail(benPage, ben, false);
  await expect(benPage.locator(`tr[data-symbol="${symbol}"]`).getByTestId("wallet-available")).toHaveText("40");
  const benTransfer = benPage.locator(`tr[data-operation-id="${sentId}"]`);
  await expect(benTransfer).toHaveAttribute("data-state", "confirmed");
  await expect(benTransfer).toContainText("+");
  await shot(benPage, testInfo, "05-ben-wallet");

  // Ben sees nothing of Ann's award.
  await expect(benPage.locator("tr[data-operation-id]")).toHaveCount(1);

  // Without JavaScript, Ben first asks for too much (refused next to the field), then sends
  // 10 back to Ann after the review.
  await benPage.getByLabel("Amount").fill("41");
  await benPage.getByLabel(/^To:/).fill(ann);
  await benPage.getByRole("button", { name: "Review" }).click();
  await expect(benPage.locator('[data-error-for="amount"]')).toHaveText("That is more points than are available.");
  await shot(benPage, testInfo, "06-ben-too-much");
  await benPage.getByLabel("Amount").fill("10");
  await benPage.getByRole("button", { name: "Review" }).click();
  await expect(benPage.getByTestId("review-recipient")).toHaveText(`the customer ${ann}`);
  await benPage.getByRole("button", { name: `Send 10 ${symbol}` }).click();
  await expect(benPage).toHaveURL(/\/wallet\?sent_operation=\d+$/);
  const backId = benPage.url().match(/sent_operation=(\d+)/)![1];
  // Ann's page (with JavaScript) picks it up on its own and follows it to confirmed.
  const annBack = annPage.locator(`tr[data-operation-id="${backId}"]`);
  await expect(annBack).toHaveAttribute("data-state", "confirmed", { timeout: 30_000 });
  await expect(annBalance.getByTestId("wallet-available")).toHaveText("70");
  await shot(annPage, testInfo, "07-ann-received-back");

  // Anyone can check the transfer on the public page of the points.
  const txid = (await annTransfer.getByTestId("operation-txid").textContent())!;
  const visitor = await browser.newContext();
  const publicPage = await visitor.newPage();
  await publicPage.goto(`/points/${symbol}`);
  await expect(publicPage.getByTestId("points-symbol")).toHaveText(symbol);
  await expect(publicPage.getByTestId("holders")).toHaveText("2");
  await publicPage.getByLabel("Transaction id or operation number").fill(txid);
  await publicPage.getByRole("button", { name: "Verify" }).click();
  await expect(publicPage.getByTestId("chain-says")).toHaveAttribute("data-found", "true");
  await expect(publicPage.getByTestId("ledger-says")).toContainText("transfer");
  await shot(publicPage, testInfo, "08-public-verify");
  await visitor.close();
  await annContext.close();
  await benContext.close();
});
