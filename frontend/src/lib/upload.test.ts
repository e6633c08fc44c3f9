import { afterEach, describe, expect, it, vi } from "vitest";
import { uploadFile } from "./upload";

class FakeXhr {
  static last: FakeXhr;
  upload: { onprogress: ((event: ProgressEvent) => void) | null } = { onprogress: null };
  onload: (() => void) | null = null;
  onerror: (() => void) | null = null;
  onabort: (() => void) | null = null;
  status = 0;
  responseText = "";
  responseType = "";
  headers: Record<string, string> = {};
  method = "";
  url = "";
  sent: FormData | null = null;

  constructor() {
    FakeXhr.last = this;
  }
  open(method: string, url: string) {
    this.method = method;
    this.url = url;
  }
  setRequestHeader(name: string, value: string) {
    this.headers[name] = value;
  }
  send(body: FormData) {
    this.sent = body;
  }
  abort() {
    this.onabort?.();
  }
  progress(loaded: number, total: number) {
    this.upload.onprogress?.({ loaded, total, lengthComputable: true } as ProgressEvent);
  }
  respond(status: number, body: unknown) {
    this.status = status;
    this.responseText = JSON.stringify(body);
    this.onload?.();
  }
}

describe("uploadFile", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("reports the bytes sent and resolves with the job", async () => {
    vi.stubGlobal("XMLHttpRequest", FakeXhr);
    document.cookie = "csrftoken=tok";
    const file = new File(["sku,name\n1,a\n"], "products.csv", { type: "text/csv" });
    const progress = vi.fn();
    const handle = uploadFile<{ id: string }>("/api/products/upload/", file, progress);
    const xhr = FakeXhr.last;
    expect([xhr.method, xhr.url]).toEqual(["POST", "/api/products/upload/"]);
    expect(xhr.headers["X-CSRFToken"]).toBe("tok");
    expect((xhr.sent?.get("file") as File).name).toBe("products.csv");
    xhr.progress(5, 13);
    xhr.progress(13, 13);
    expect(progress.mock.calls).toEqual([[{ loaded: 5, total: 13 }], [{ loaded: 13, total: 13 }]]);
    xhr.respond(202, { id: "job-1" });
    await expect(handle.promise).resolves.toEqual({ id: "job-1" });
  });

  it("rejects with the API's words", async () => {
    vi.stubGlobal("XMLHttpRequest", FakeXhr);
    const handle = uploadFile("/api/products/upload/", new File(["x"], "a.csv"), vi.fn());
    FakeXhr.last.respond(400, { file: ["The file is empty."] });
    await expect(handle.promise).rejects.toMatchObject({
      status: 400,
      message: "The file is empty.",
    });
  });

  it("says when the connection fails", async () => {
    vi.stubGlobal("XMLHttpRequest", FakeXhr);
    const handle = uploadFile("/api/products/upload/", new File(["x"], "a.csv"), vi.fn());
    FakeXhr.last.onerror?.();
    await expect(handle.promise).rejects.toMatchObject({ status: 0 });
  });
});
