/*
 * Web workers for pages opened straight from disk (file://).
 *
 * Browsers refuse `new Worker(url)` on a file:// page, and the book's search runs in
 * a worker. Here a worker's script runs in a hidden iframe of the same page instead,
 * and messages pass between the two windows as they would between page and worker.
 * Enough for mkdocs-material's search worker (messages in and out, no importScripts
 * for English). Served over http(s) the page keeps the browser's own Worker.
 */
(function () {
  "use strict";
  if (location.protocol !== "file:" || typeof EventTarget !== "function") {
    return;
  }

  class FrameWorker extends EventTarget {
    constructor(url) {
      super();
      this.onmessage = null;
      this.onerror = null;
      this._pending = [];
      this._ready = false;
      this._frame = document.createElement("iframe");
      this._frame.hidden = true;
      this._frame.setAttribute("aria-hidden", "true");
      this._frame.setAttribute("tabindex", "-1");
      (document.body || document.documentElement).appendChild(this._frame);

      const scope = this._frame.contentWindow;
      // What the worker's script calls to answer: deliver to the page.
      scope.postMessage = (data) => this._deliver("message", data);
      scope.importScripts = () => {
        throw new Error("importScripts is not available in a worker run from file://");
      };
      const script = scope.document.createElement("script");
      script.src = new URL(url, document.baseURI).href;
      script.addEventListener("load", () => {
        this._ready = true;
        this._pending.splice(0).forEach((data) => this._post(data));
      });
      script.addEventListener("error", () => this._deliver("error", null));
      scope.document.head.appendChild(script);
    }

    postMessage(data) {
      if (this._ready) {
        this._post(data);
      } else {
        this._pending.push(data);
      }
    }

    terminate() {
      this._frame.remove();
    }

    _post(data) {
      const scope = this._frame.contentWindow;
      const copy = typeof structuredClone === "function" ? structuredClone(data) : data;
      scope.dispatchEvent(new scope.MessageEvent("message", { data: copy }));
    }

    _deliver(type, data) {
      const event = type === "message" ? new MessageEvent("message", { data: data }) : new Event("error");
      const handler = type === "message" ? this.onmessage : this.onerror;
      if (typeof handler === "function") {
        handler.call(this, event);
      }
      this.dispatchEvent(event);
    }
  }

  window.Worker = FrameWorker;
})();
