import { Component, type ErrorInfo, type ReactNode } from "react";

interface State {
  error: Error | null;
}

/** A page that breaks shows what happened and a way back, never a blank screen. */
export class ErrorBoundary extends Component<{ children: ReactNode }, State> {
  state: State = { error: null };

  static getDerivedStateFromError(error: Error): State {
    return { error };
  }

  componentDidCatch(error: Error, info: ErrorInfo): void {
    console.error("The dashboard failed to show a page:", error, info.componentStack);
  }

  render() {
    if (!this.state.error) return this.props.children;
    return (
      <main id="main" className="page">
        <h1>Something went wrong</h1>
        <p className="error-message" role="alert">
          This page failed to show: {this.state.error.message}
        </p>
        <p>
          <a href={window.location.pathname}>Reload the page</a> or go to{" "}
          <a href="/products">the products</a>.
        </p>
      </main>
    );
  }
}
