import { useQueryClient } from "@tanstack/react-query";
import { useEffect } from "react";
import { Navigate, NavLink, Route, Routes } from "react-router";
import { ErrorBoundary } from "@/components/ErrorBoundary";
import { Button, ErrorMessage } from "@/components/ui";
import {
  SignInPage,
  sessionKey,
  useSession,
  useSignOut,
  type Role,
  type Session,
} from "@/features/auth";
import { ImportPage } from "@/features/imports";
import { ProductsPage } from "@/features/products";
import { WebhooksPage } from "@/features/webhooks";
import { setAuthErrorHandler } from "@/lib/api";

const NAV = [
  { to: "/imports", label: "Import" },
  { to: "/products", label: "Products" },
  { to: "/webhooks", label: "Webhooks" },
];

export function App() {
  const session = useSession();
  const queryClient = useQueryClient();

  // Any request refused for want of a session (it expired, or another tab signed out): sign in.
  useEffect(() => {
    setAuthErrorHandler(() => queryClient.setQueryData<Session>(sessionKey, { user: null }));
    return () => setAuthErrorHandler(undefined);
  }, [queryClient]);

  if (session.isPending) {
    return (
      <p className="loading" role="status">
        Loading…
      </p>
    );
  }
  if (session.isError) {
    return (
      <main id="main" className="page">
        <h1>Product Importer</h1>
        <ErrorMessage error={session.error} prefix="The dashboard cannot start:" />
        <Button onClick={() => void session.refetch()} busy={session.isFetching}>
          Try again
        </Button>
      </main>
    );
  }
  const user = session.data.user;
  if (!user) return <SignInPage />;

  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <Header username={user.username} role={user.role} />
      <ErrorBoundary>
        <Routes>
          <Route path="/" element={<Navigate to="/imports" replace />} />
          <Route path="/imports" element={<ImportPage />} />
          <Route path="/products" element={<ProductsPage />} />
          <Route path="/webhooks" element={<WebhooksPage />} />
          <Route path="*" element={<NotFound />} />
        </Routes>
      </ErrorBoundary>
    </>
  );
}

function Header({ username, role }: { username: string; role: Role | null }) {
  const signOut = useSignOut();
  return (
    <header className="header">
      <span className="header__brand">Product Importer</span>
      <nav aria-label="Main" className="header__nav">
        {NAV.map((item) => (
          <NavLink key={item.to} to={item.to} className="header__link">
            {item.label}
          </NavLink>
        ))}
      </nav>
      <div className="header__user">
        <span>
          Signed in as <strong data-testid="username">{username}</strong>{" "}
          <span className="badge badge--role" data-testid="role">
            {role ?? "no role"}
          </span>
        </span>
        <Button size="small" onClick={() => signOut.mutate()} busy={signOut.isPending}>
          Sign out
        </Button>
      </div>
    </header>
  );
}

function NotFound() {
  return (
    <main id="main" className="page">
      <h1>Page not found</h1>
      <p>
        There is no page here. Go to <NavLink to="/imports">Import</NavLink>,{" "}
        <NavLink to="/products">Products</NavLink> or <NavLink to="/webhooks">Webhooks</NavLink>.
      </p>
    </main>
  );
}
