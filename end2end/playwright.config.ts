import { defineConfig } from "@playwright/test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

// Each run gets a fresh data directory: its own SQLite file, outbox and chain.
const dataDir = process.env.POINTMINT_E2E_DATA_DIR ?? mkdtempSync(join(tmpdir(), "pointmint-e2e-"));
process.env.POINTMINT_E2E_DATA_DIR = dataDir;
const port = Number(process.env.POINTMINT_E2E_PORT ?? 3111);

export default defineConfig({
  testDir: "./tests",
  timeout: 60_000,
  expect: { timeout: 15_000 },
  fullyParallel: false,
  workers: 1,
  // One retry in CI: a shared two-core machine under a full test run times out more.
  retries: process.env.CI ? 1 : 0,
  reporter: [["list"]],
  outputDir: "test-results",
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    screenshot: "only-on-failure",
    trace: "retain-on-failure",
    browserName: "chromium",
    launchOptions: {
      // Debian's Chromium; Playwright downloads no browser here.
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
    },
  },
  // --webhook-allow-private: the integrations spec's webhook receiver listens on 127.0.0.1.
  webServer: {
    command: `../target/debug/pointmint serve --addr 127.0.0.1:${port} --data-dir ${dataDir} --site-root ../target/site --devnet-block-interval 500ms --webhook-allow-private`,
    url: `http://127.0.0.1:${port}/healthz`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: "pipe",
    stderr: "pipe",
  },
});
