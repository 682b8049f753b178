// SPDX-License-Identifier: Apache-2.0
// browser/test/lib/webkit.mjs: WebKit (WebKitGTK, the engine of Safari)
// driven by W3C WebDriver over HTTP: Debian's WebKitWebDriver
// (webkit2gtk-driver) starts MiniBrowser in automation mode, on a virtual
// X display of its own (Xvfb: WebKitGTK's MiniBrowser has no headless
// mode). The protocol is plain JSON over HTTP to the driver on loopback,
// so this needs no npm client. Run it inside inNetns() (browsers.mjs):
// the display socket and the driver are then in that namespace too.
//
//   const w = await launchWebKit({ width: 390, height: 844 });   // the page's viewport
//        (acceptInsecureCerts: true for a test server's self-signed certificate)
//   await w.goto(url);               await w.url()
//   await w.eval('return document.title')   (a function body, args as arguments[i])
//   await w.text('#ask')             '' when nothing matches
//   await w.tap('#yes')              the element's centre, by a W3C touch action (WebKitGTK
//                                    gives the page a mouse pointer: a click)
//   await w.click('#yes')            WebDriver Element Click
//   await w.key('\uE004')            a key pressed and released (Tab)
//   await w.waitFor('return ...', ms, every, ...args)   polls until the body returns true
//   await w.cookies()                what the browser holds for the page (HttpOnly too)
//   await w.screenshot(file)         the viewport, as PNG
//   w.version                        WebKitGTK's version (the driver's browserVersion)
//   await w.close()
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { freePort, waitPort } from './servers.mjs';

export const MINIBROWSER = '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser';
const DRIVER = '/usr/bin/WebKitWebDriver';
const ELEMENT = 'element-6066-11e4-a52e-4f735466cecf'; // the W3C web element key

function stopped(p, ms = 3000) {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  p.kill('SIGTERM');
  return new Promise((resolve) => {
    const t = setTimeout(() => { p.kill('SIGKILL'); resolve(); }, ms);
    p.once('exit', () => { clearTimeout(t); resolve(); });
  });
}

// Xvfb on the first free display (-displayfd), no TCP: resolves to its number.
function startXvfb(procs, screen = process.env.AGP_XVFB_SCREEN ?? '1280x1024x24') {
  const x = spawn('Xvfb', ['-displayfd', '3', '-screen', '0', screen, '-nolisten', 'tcp'],
    { stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
  procs.push(x);
  let err = '';
  x.stderr.on('data', (d) => { err += d; });
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`Xvfb did not start: ${err}`)), 10000);
    x.stdio[3].once('data', (d) => { clearTimeout(t); resolve(String(d).trim()); });
    x.once('error', (e) => { clearTimeout(t); reject(new Error(`Xvfb: ${e.message} (apt-get install xvfb)`)); });
    x.once('exit', (c) => { clearTimeout(t); reject(new Error(`Xvfb exited ${c}: ${err}`)); });
  });
}

// Starts Xvfb, WebKitWebDriver and a session; the window is then sized so
// that the page's viewport is width x height CSS pixels.
export async function launchWebKit({ width = 390, height = 844, lang = 'en-US', acceptInsecureCerts = false } = {}) {
  const procs = [];
  const home = mkdtempSync(path.join(tmpdir(), 'agp-webkit-'));
  let log = '';
  let base = null;
  let sid = null;
  const close = async () => {
    if (sid) {
      await fetch(`${base}/session/${sid}`, { method: 'DELETE', signal: AbortSignal.timeout(5000) }).catch(() => {});
      sid = null;
    }
    for (const p of procs.reverse()) await stopped(p);
    rmSync(home, { recursive: true, force: true });
  };
  try {
    const display = await startXvfb(procs);
    const port = await freePort();
    // MiniBrowser's header bar would keep its window at least 447 px wide:
    // GTK's widgets made small (GTK 3 reads $XDG_CONFIG_HOME/gtk-3.0/gtk.css;
    // the page, its form controls and scroll bars included, is drawn by
    // WebKit itself, not by GTK's theme, so it is unchanged)
    mkdirSync(path.join(home, 'config/gtk-3.0'), { recursive: true });
    writeFileSync(path.join(home, 'config/gtk-3.0/gtk.css'),
      '* { min-width: 0; min-height: 0; padding: 0; margin: 0; font-size: 4px; }\n');
    // a home of its own: MiniBrowser keeps nothing between runs there
    const env = { ...process.env, DISPLAY: `:${display}`, HOME: home, XDG_DATA_HOME: path.join(home, 'data'),
      XDG_CACHE_HOME: path.join(home, 'cache'), XDG_CONFIG_HOME: path.join(home, 'config'),
      LANG: 'C.UTF-8', LANGUAGE: lang.replace('-', '_'), GDK_BACKEND: 'x11', // navigator.language from LANGUAGE
      NO_AT_BRIDGE: '1' };
    const d = spawn(DRIVER, [`--port=${port}`, '--host=local'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    procs.push(d);
    d.stdout.on('data', (x) => { log += x; });
    d.stderr.on('data', (x) => { log += x; });
    await new Promise((resolve, reject) => {
      d.once('error', (e) => reject(new Error(`${DRIVER}: ${e.message} (apt-get install webkit2gtk-driver)`)));
      waitPort(port, '127.0.0.1', 10000).then(resolve, reject);
    });
    base = `http://127.0.0.1:${port}`;
    const w = webdriver(base);
    const s = await w.send('POST', '/session', { capabilities: { alwaysMatch: {
      'webkitgtk:browserOptions': { binary: MINIBROWSER, args: ['--automation'] },
      acceptInsecureCerts, pageLoadStrategy: 'normal', timeouts: { pageLoad: 20000, script: 10000, implicit: 0 } } } });
    sid = s.sessionId;
    const session = makeSession(w, sid, s.capabilities);
    await session.setViewport(width, height);
    session.close = close;
    session.log = () => log;
    return session;
  } catch (e) {
    await close();
    e.message += log ? `\n--- WebKitWebDriver\n${log}` : '';
    throw e;
  }
}

// One W3C WebDriver endpoint: send(method, path, body) -> value, or throws
// the driver's error and message.
function webdriver(base) {
  return {
    async send(method, p, body, ms = 30000) {
      const res = await fetch(`${base}${p}`, { method, signal: AbortSignal.timeout(ms),
        headers: body ? { 'Content-Type': 'application/json; charset=utf-8' } : {},
        body: body ? JSON.stringify(body) : undefined });
      const json = await res.json();
      if (!res.ok || (json.value && json.value.error)) {
        const v = json.value ?? {};
        throw new Error(`WebDriver ${method} ${p}: ${v.error ?? res.status}: ${v.message ?? ''}`);
      }
      return json.value;
    },
  };
}

function makeSession(w, sid, capabilities) {
  const s = (method, p, body, ms) => w.send(method, `/session/${sid}${p}`, body, ms);
  const self = {
    send: s, // any other W3C command: send(method, path, body)
    version: capabilities.browserVersion,
    browserName: capabilities.browserName,
    capabilities,
    goto: (url) => s('POST', '/url', { url }),
    url: () => s('GET', '/url'),
    back: () => s('POST', '/back', {}),
    refresh: () => s('POST', '/refresh', {}),
    eval: (script, ...args) => s('POST', '/execute/sync', { script, args }),
    // the body ends by calling arguments[arguments.length - 1](value)
    evalAsync: (script, ...args) => s('POST', '/execute/async', { script, args }),
    async find(css) {
      const all = await s('POST', '/elements', { using: 'css selector', value: css });
      return all.length ? all[0][ELEMENT] : null;
    },
    async text(css) {
      return (await self.eval('const e = document.querySelector(arguments[0]); return e ? e.textContent : "";', css)) ?? '';
    },
    // A tap: a W3C touch pointer down and up at the element's centre; the
    // driver waits for a navigation it starts.
    async tap(css) {
      const el = await self.find(css);
      if (!el) throw new Error(`no element ${css}`);
      await s('POST', '/actions', { actions: [{ type: 'pointer', id: 'finger', parameters: { pointerType: 'touch' },
        actions: [{ type: 'pointerMove', duration: 0, origin: { [ELEMENT]: el }, x: 0, y: 0 },
          { type: 'pointerDown', button: 0 }, { type: 'pointerUp', button: 0 }] }] });
      await s('DELETE', '/actions');
    },
    // WebDriver Element Click (a mouse click at the centre)
    async click(css) {
      const el = await self.find(css);
      if (!el) throw new Error(`no element ${css}`);
      await s('POST', `/element/${el}/click`, {});
    },
    // one key pressed and released (a WebDriver key value: '\uE004' is Tab, '\uE007' Enter)
    async key(value) {
      await s('POST', '/actions', { actions: [{ type: 'key', id: 'keyboard',
        actions: [{ type: 'keyDown', value }, { type: 'keyUp', value }] }] });
    },
    async keys(css, text) {
      const el = await self.find(css);
      if (!el) throw new Error(`no element ${css}`);
      await s('POST', `/element/${el}/value`, { text });
    },
    // polls a function body every `every` ms until it returns true; false after ms
    async waitFor(body, ms = 10000, every = 50, ...args) {
      const end = Date.now() + ms;
      while (Date.now() < end) {
        const ok = await self.eval(body, ...args).catch(() => false); // a navigation may be under way
        if (ok === true) return true;
        await new Promise((r) => setTimeout(r, every));
      }
      return false;
    },
    cookies: () => s('GET', '/cookie'),
    async screenshot(file) {
      writeFileSync(file, Buffer.from(await s('GET', '/screenshot'), 'base64'));
    },
    // the window made as large as the browser's own bars need for a
    // width x height viewport
    async setViewport(width, height) {
      for (let i = 0; i < 3; i++) {
        const [iw, ih] = await self.eval('return [innerWidth, innerHeight]');
        if (iw === width && ih === height) return;
        const r = await s('GET', '/window/rect');
        const want = { width: Math.round(r.width + width - iw), height: Math.round(r.height + height - ih) };
        await s('POST', '/window/rect', want).catch((e) => {
          throw new Error(`${e.message} (window ${JSON.stringify(r)}, viewport ${iw}x${ih}, asked ${JSON.stringify(want)})`);
        });
      }
    },
  };
  return self;
}
