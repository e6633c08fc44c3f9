import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render, type RenderOptions } from "@testing-library/react";
import type { ReactElement, ReactNode } from "react";
import { MemoryRouter } from "react-router";
import { vi } from "vitest";
import { NoticesProvider } from "@/components/ui";
import { sessionKey, type Session, type SessionUser } from "@/features/auth";
import { makeUser } from "./fixtures";

export function newQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: { queries: { retry: false, gcTime: Infinity }, mutations: { retry: false } },
  });
}

export function Providers({
  children,
  client,
  path = "/",
}: {
  children: ReactNode;
  client: QueryClient;
  path?: string;
}) {
  return (
    <QueryClientProvider client={client}>
      <MemoryRouter initialEntries={[path]}>
        <NoticesProvider>{children}</NoticesProvider>
      </MemoryRouter>
    </QueryClientProvider>
  );
}

/**
 * Renders `ui` as the dashboard does, signed in as `user` (an admin by default, who may do
 * everything); `user: null` leaves the session to be asked for (the App's tests mock it).
 */
export function renderWithProviders(
  ui: ReactElement,
  {
    path,
    client = newQueryClient(),
    user = makeUser("admin"),
    ...options
  }: RenderOptions & { path?: string; client?: QueryClient; user?: SessionUser | null } = {},
) {
  if (user) client.setQueryData<Session>(sessionKey, { user });
  return {
    client,
    ...render(ui, {
      wrapper: ({ children }) => (
        <Providers client={client} path={path}>
          {children}
        </Providers>
      ),
      ...options,
    }),
  };
}

export interface Call {
  method: string;
  url: string;
  body: unknown;
  headers: Record<string, string>;
}

type Handler = (call: Call) => { status?: number; body?: unknown } | undefined;

/** Replaces fetch with `handler`; answers JSON; records every call. */
export function mockFetch(handler: Handler) {
  const calls: Call[] = [];
  const fetchMock = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const call: Call = {
      method: init?.method ?? "GET",
      url: String(input),
      body: typeof init?.body === "string" ? JSON.parse(init.body) : undefined,
      headers: (init?.headers as Record<string, string>) ?? {},
    };
    calls.push(call);
    const answer = handler(call) ?? { status: 404, body: { detail: "Not found." } };
    const status = answer.status ?? 200;
    return new Response(status === 204 ? null : JSON.stringify(answer.body ?? null), {
      status,
      headers: { "Content-Type": "application/json" },
    });
  });
  vi.stubGlobal("fetch", fetchMock);
  return calls;
}
