export const EVENTS = [
  { name: "product.created", label: "A product is created" },
  { name: "product.updated", label: "A product is updated" },
  { name: "product.deleted", label: "A product is deleted" },
  { name: "import.completed", label: "An import completes" },
  { name: "import.failed", label: "An import fails" },
  { name: "products.bulk_deleted", label: "All products are deleted" },
  { name: "import.cancelled", label: "An import is cancelled" },
  { name: "job.reverted", label: "An import or a delete all is reverted" },
] as const;

export type EventName = (typeof EVENTS)[number]["name"];

export interface Webhook {
  id: number;
  url: string;
  events: EventName[];
  enabled: boolean;
  description: string;
  created_at: string;
  updated_at: string;
  last_status_code: number | null;
  last_response_time_ms: number | null;
  last_delivery_at: string | null;
  last_error?: string;
  consecutive_failures: number;
  disabled_reason?: string;
  /** Only in the answers to create and rotate_secret. */
  secret?: string;
}

export type WebhookInput = Pick<Webhook, "url" | "events" | "enabled" | "description">;

export interface WebhookTestResult {
  ok: boolean;
  status_code: number | null;
  response_time_ms: number | null;
  error: string | null;
}

export interface Delivery {
  id: number;
  webhook: number;
  event: string;
  message_id: string;
  status: "pending" | "succeeded" | "failed";
  attempts: number;
  status_code: number | null;
  duration_ms: number | null;
  error: string;
  created_at: string;
  last_attempt_at: string | null;
  next_attempt_at: string | null;
}

/** What the browser can say about a URL before the server checks where it points. */
export function urlProblem(value: string): string | null {
  const text = value.trim();
  if (!text) return "Enter the URL that should receive the events.";
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return "Enter a full URL, such as https://example.com/hooks/catalog.";
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return "The URL must start with http:// or https://.";
  }
  if (!url.hostname) return "The URL needs a host name.";
  return null;
}
