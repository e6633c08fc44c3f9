import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { mockFetch, renderWithProviders } from "@/test/utils";
import { testResultText } from "./WebhookCard";
import { WebhooksPage } from "./WebhooksPage";
import { EVENTS, urlProblem, type Webhook } from "./types";

const HOOK: Webhook = {
  id: 3,
  url: "https://example.com/hooks/catalog",
  events: ["product.created", "import.completed"],
  enabled: true,
  description: "Warehouse",
  created_at: "2026-01-01T10:00:00Z",
  updated_at: "2026-01-01T10:00:00Z",
  last_status_code: null,
  last_response_time_ms: null,
  last_delivery_at: null,
  consecutive_failures: 0,
};

const list = (hooks: Webhook[]) => ({
  count: hooks.length,
  next: null,
  previous: null,
  results: hooks,
});

describe("urlProblem", () => {
  it("wants a full http(s) URL", () => {
    expect(urlProblem("")).toMatch(/Enter the URL/);
    expect(urlProblem("example.com/hook")).toMatch(/full URL/);
    expect(urlProblem("ftp://example.com/")).toMatch(/http:\/\/ or https:\/\//);
    expect(urlProblem(" https://example.com/hook ")).toBeNull();
  });
});

describe("testResultText", () => {
  it("says the code and the time, or the error", () => {
    expect(testResultText({ ok: true, status_code: 204, response_time_ms: 35, error: null })).toBe(
      "Test delivered: the receiver answered 204 in 35 ms.",
    );
    expect(testResultText({ ok: false, status_code: 500, response_time_ms: 12, error: null })).toBe(
      "Test failed: the receiver answered 500 in 12 ms.",
    );
    expect(
      testResultText({
        ok: false,
        status_code: null,
        response_time_ms: null,
        error: "Connection refused",
      }),
    ).toBe("Test failed: Connection refused.");
  });
});

describe("WebhooksPage", () => {
  it("adds a webhook with the chosen events and shows its secret once", async () => {
    let hooks: Webhook[] = [];
    const calls = mockFetch((call) => {
      if (call.method === "POST" && call.url === "/api/webhooks/") {
        const created = { ...HOOK, ...(call.body as object), id: 9 };
        hooks = [created];
        return { status: 201, body: { ...created, secret: "whsec_abc" } };
      }
      if (call.url.startsWith("/api/webhooks/?")) return { body: list(hooks) };
      return undefined;
    });
    renderWithProviders(<WebhooksPage />);
    expect(await screen.findByText("No webhooks yet.")).toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: "Add a webhook" }));
    const dialog = screen.getByRole("dialog", { name: "Add a webhook" });
    const boxes = within(dialog).getAllByRole("checkbox", { name: /\./ });
    expect(boxes).toHaveLength(EVENTS.length);
    boxes.forEach((box) => expect(box).toBeChecked());

    await userEvent.type(within(dialog).getByLabelText("URL"), "warehouse");
    await userEvent.click(within(dialog).getByRole("button", { name: "Add webhook" }));
    expect(within(dialog).getByLabelText("URL")).toHaveAccessibleDescription(/full URL/);
    expect(calls.filter((call) => call.method === "POST")).toHaveLength(0);

    await userEvent.clear(within(dialog).getByLabelText("URL"));
    await userEvent.type(within(dialog).getByLabelText("URL"), "https://example.com/h");
    await userEvent.click(within(dialog).getByRole("checkbox", { name: /import\.failed/ }));
    await userEvent.click(within(dialog).getByRole("button", { name: "Add webhook" }));

    const secret = await screen.findByRole("dialog", { name: "The webhook's secret" });
    expect(within(secret).getByRole("textbox")).toHaveValue("whsec_abc");
    expect(within(secret).getByRole("button", { name: "Copy" })).toBeInTheDocument();
    const post = calls.find((call) => call.method === "POST");
    expect(post?.body).toEqual({
      url: "https://example.com/h",
      events: EVENTS.map((event) => event.name).filter((name) => name !== "import.failed"),
      enabled: true,
      description: "",
    });
  });

  it("tests a webhook and says the answer", async () => {
    mockFetch((call) => {
      if (call.url === "/api/webhooks/3/test/") {
        return { body: { ok: true, status_code: 200, response_time_ms: 42, error: null } };
      }
      if (call.url.startsWith("/api/webhooks/?")) return { body: list([HOOK]) };
      return undefined;
    });
    renderWithProviders(<WebhooksPage />);
    await userEvent.click(await screen.findByRole("button", { name: "Test" }));
    expect(
      await screen.findByText("Test delivered: the receiver answered 200 in 42 ms."),
    ).toBeInTheDocument();
  });

  it("turns a webhook off with its switch", async () => {
    const calls = mockFetch((call) => {
      if (call.method === "PATCH") return { body: { ...HOOK, enabled: false } };
      if (call.url.startsWith("/api/webhooks/?")) return { body: list([HOOK]) };
      return undefined;
    });
    renderWithProviders(<WebhooksPage />);
    await userEvent.click(await screen.findByRole("switch", { name: `Enabled: ${HOOK.url}` }));
    await waitFor(() =>
      expect(calls.find((call) => call.method === "PATCH")).toMatchObject({
        url: "/api/webhooks/3/",
        body: { enabled: false },
      }),
    );
  });

  it("shows the delivery log and redelivers", async () => {
    const delivery = {
      id: 11,
      webhook: 3,
      event: "product.created",
      message_id: "msg_1",
      status: "failed",
      attempts: 8,
      status_code: 500,
      duration_ms: 20,
      error: "HTTP 500",
      created_at: "2026-01-01T10:00:00Z",
      last_attempt_at: "2026-01-01T10:00:00Z",
      next_attempt_at: null,
    };
    const calls = mockFetch((call) => {
      if (call.url.startsWith("/api/webhooks/3/deliveries/?")) {
        return { body: { count: 1, next: null, previous: null, results: [delivery] } };
      }
      if (call.url === "/api/webhooks/3/deliveries/11/redeliver/") {
        return { status: 202, body: { ...delivery, id: 12, status: "pending" } };
      }
      if (call.url.startsWith("/api/webhooks/?")) return { body: list([HOOK]) };
      return undefined;
    });
    renderWithProviders(<WebhooksPage />);
    await userEvent.click(await screen.findByRole("button", { name: "Deliveries" }));
    const row = await screen.findByRole("row", { name: /product\.created/ });
    expect(row).toHaveTextContent("Failed");
    expect(row).toHaveTextContent("500");
    await userEvent.click(within(row).getByRole("button", { name: "Redeliver" }));
    await waitFor(() =>
      expect(calls.some((call) => call.url.endsWith("/deliveries/11/redeliver/"))).toBe(true),
    );
  });

  it("shows a delivery recorded after the log was opened, and the card's last delivery", async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    const user = userEvent.setup({ advanceTimers: vi.advanceTimersByTime });
    const delivered = {
      id: 21,
      webhook: 3,
      event: "product.created",
      message_id: "msg_2",
      status: "succeeded",
      attempts: 1,
      status_code: 200,
      duration_ms: 7,
      error: "",
      created_at: "2026-01-01T10:00:00Z",
      last_attempt_at: "2026-01-01T10:00:01Z",
      next_attempt_at: null,
    };
    let recorded = false;
    mockFetch((call) => {
      if (call.url.startsWith("/api/webhooks/3/deliveries/?")) {
        const results = recorded ? [delivered] : [];
        return { body: { count: results.length, next: null, previous: null, results } };
      }
      if (call.url.startsWith("/api/webhooks/?")) {
        const hook = recorded
          ? { ...HOOK, last_status_code: 200, last_delivery_at: "2026-01-01T10:00:01Z" }
          : HOOK;
        return { body: list([hook]) };
      }
      return undefined;
    });
    try {
      renderWithProviders(<WebhooksPage />);
      await user.click(await screen.findByRole("button", { name: "Deliveries" }));
      const log = await screen.findByRole("region", { name: "Delivery log" });
      expect(await within(log).findByText("No deliveries yet.")).toBeInTheDocument();
      recorded = true; // the worker records the delivery while the log is open
      await vi.advanceTimersByTimeAsync(10_000);
      const row = await screen.findByRole("row", { name: /product\.created/ });
      expect(row).toHaveTextContent("Delivered");
      expect(await screen.findByText(/Last delivery .*: 200\./)).toBeInTheDocument();
    } finally {
      vi.useRealTimers();
    }
  });

  it("deletes a webhook after confirming", async () => {
    let hooks = [HOOK];
    const calls = mockFetch((call) => {
      if (call.method === "DELETE") {
        hooks = [];
        return { status: 204 };
      }
      if (call.url.startsWith("/api/webhooks/?")) return { body: list(hooks) };
      return undefined;
    });
    renderWithProviders(<WebhooksPage />);
    await userEvent.click(await screen.findByRole("button", { name: "Delete" }));
    const confirm = screen.getByRole("alertdialog", { name: "Delete webhook" });
    await userEvent.click(within(confirm).getByRole("button", { name: "Delete" }));
    expect(await screen.findByText("No webhooks yet.")).toBeInTheDocument();
    expect(calls.find((call) => call.method === "DELETE")?.url).toBe("/api/webhooks/3/");
  });
});
