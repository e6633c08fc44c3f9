import { act, renderHook, waitFor } from "@testing-library/react";
import type { ReactNode } from "react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { makeJob } from "@/test/fixtures";
import { Providers, mockFetch, newQueryClient } from "@/test/utils";
import { useJob } from "./api";

class FakeEventSource {
  static instances: FakeEventSource[] = [];
  onmessage: ((event: MessageEvent<string>) => void) | null = null;
  onerror: (() => void) | null = null;
  closed = false;
  constructor(public url: string) {
    FakeEventSource.instances.push(this);
  }
  close() {
    this.closed = true;
  }
  send(data: unknown) {
    this.onmessage?.({ data: JSON.stringify(data) } as MessageEvent<string>);
  }
}

const JOB_ID = makeJob().id;

function wrapper({ children }: { children: ReactNode }) {
  return <Providers client={newQueryClient()}>{children}</Providers>;
}

describe("useJob", () => {
  beforeEach(() => {
    FakeEventSource.instances = [];
    vi.stubGlobal("EventSource", FakeEventSource);
  });
  afterEach(() => vi.unstubAllGlobals());

  it("follows a running job through its event stream", async () => {
    const calls = mockFetch(() => ({ body: makeJob() }));
    const { result } = renderHook(() => useJob(JOB_ID), { wrapper });
    await waitFor(() => expect(FakeEventSource.instances).toHaveLength(1));
    const source = FakeEventSource.instances[0]!;
    // The stream is opened at this site's own path, whatever host the server named.
    expect(source.url).toBe(`/api/job/${JOB_ID}/events/`);
    act(() => source.send(makeJob({ percent: 70, processed_rows: 700 })));
    await waitFor(() => expect(result.current.data?.percent).toBe(70));
    act(() =>
      source.send(makeJob({ status: "COMPLETED", percent: 100, message: "Import complete" })),
    );
    await waitFor(() => expect(result.current.data?.status).toBe("COMPLETED"));
    expect(source.closed).toBe(true);
    expect(calls.filter((call) => call.url.endsWith("/status/"))).toHaveLength(1);
  });

  it("asks for the status every second when the stream drops", async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    try {
      let percent = 40;
      const calls = mockFetch(() => ({ body: makeJob({ percent }) }));
      const { result } = renderHook(() => useJob(JOB_ID), { wrapper });
      await waitFor(() => expect(FakeEventSource.instances).toHaveLength(1));
      act(() => FakeEventSource.instances[0]!.onerror?.());
      expect(FakeEventSource.instances[0]!.closed).toBe(true);
      percent = 90;
      await act(() => vi.advanceTimersByTimeAsync(1100));
      await waitFor(() => expect(result.current.data?.percent).toBe(90));
      expect(calls.length).toBeGreaterThanOrEqual(2);
      expect(FakeEventSource.instances).toHaveLength(1);
    } finally {
      vi.useRealTimers();
    }
  });

  it("polls a job that has no stream, and opens none for a finished job", async () => {
    mockFetch(() => ({ body: makeJob({ status: "COMPLETED", percent: 100, events_url: null }) }));
    const { result } = renderHook(() => useJob(JOB_ID), { wrapper });
    await waitFor(() => expect(result.current.data?.status).toBe("COMPLETED"));
    expect(FakeEventSource.instances).toHaveLength(0);
  });
});
