#!/usr/bin/env node
// Opens a speedscope file made by pyscope in the real speedscope viewer
// (npm package "speedscope"), headless in Chromium, and checks that it loads
// without errors, lists the expected frames, and renders a non-blank flame
// graph.  Usage: view.js PROFILE.json SCREENSHOT.png FRAME_NAME...
'use strict';
const fs = require('fs');
const http = require('http');
const path = require('path');
const zlib = require('zlib');
const { chromium } = require('playwright-core');

const [profile, shot, ...frames] = process.argv.slice(2);
if (!profile || !shot || !frames.length) {
  console.error('usage: view.js PROFILE.json SCREENSHOT.png FRAME_NAME...');
  process.exit(2);
}
const root = path.join(__dirname, 'node_modules', 'speedscope', 'dist', 'release');
const types = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css',
  '.json': 'application/json', '.png': 'image/png', '.woff2': 'font/woff2', '.ico': 'image/x-icon',
  '.txt': 'text/plain' };

function serve() {
  const srv = http.createServer((req, res) => {
    const url = decodeURIComponent(req.url.split('?')[0].split('#')[0]);
    const file = url === '/profile.json' ? profile : path.join(root, path.normalize(url === '/' ? 'index.html' : url));
    if (url !== '/profile.json' && !file.startsWith(root)) { res.writeHead(403); return res.end(); }
    fs.readFile(file, (err, data) => {
      if (err) { res.writeHead(404); return res.end(); }
      res.writeHead(200, { 'Content-Type': types[path.extname(file)] || 'application/octet-stream',
        'Access-Control-Allow-Origin': '*' });
      res.end(data);
    });
  });
  return new Promise((resolve) => srv.listen(0, '127.0.0.1', () => resolve(srv)));
}

// Count distinct colours in an 8-bit RGB(A) PNG (no interlace): a blank or
// error page has very few.
function pngColours(buf) {
  let pos = 8, w = 0, h = 0, ctype = 0;
  const idat = [];
  while (pos < buf.length) {
    const len = buf.readUInt32BE(pos), type = buf.toString('ascii', pos + 4, pos + 8);
    const data = buf.subarray(pos + 8, pos + 8 + len);
    if (type === 'IHDR') { w = data.readUInt32BE(0); h = data.readUInt32BE(4); ctype = data[9]; }
    if (type === 'IDAT') idat.push(data);
    pos += 12 + len;
  }
  const bpp = ctype === 6 ? 4 : 3, raw = zlib.inflateSync(Buffer.concat(idat));
  const stride = w * bpp, out = Buffer.alloc(h * stride), seen = new Set();
  for (let y = 0; y < h; y++) {
    const f = raw[y * (stride + 1)], line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let x = 0; x < stride; x++) {
      const a = x >= bpp ? out[y * stride + x - bpp] : 0, b = y ? out[(y - 1) * stride + x] : 0;
      const c = x >= bpp && y ? out[(y - 1) * stride + x - bpp] : 0;
      let v = line[x];
      if (f === 1) v += a; else if (f === 2) v += b; else if (f === 3) v += (a + b) >> 1;
      else if (f === 4) { const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
        v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c; }
      out[y * stride + x] = v & 255;
    }
    for (let x = 0; x < w; x += 3) seen.add(out.readUIntBE(y * stride + x * bpp, 3));
  }
  return seen.size;
}

(async () => {
  const srv = await serve();
  const base = `http://127.0.0.1:${srv.address().port}`;
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const errors = [];
  let code = 0;
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 700 } });
    page.on('pageerror', (e) => errors.push('pageerror: ' + e.message));
    page.on('console', (m) => { if (m.type() === 'error') errors.push('console: ' + m.text()); });
    await page.goto(`${base}/#profileURL=${encodeURIComponent(base + '/profile.json')}`);
    // the flame graph view, then the sandwich view's table of frames
    await page.waitForSelector('canvas', { timeout: 30000 });
    await page.waitForTimeout(1000);
    await page.screenshot({ path: shot });
    await page.getByText('Sandwich').first().click();
    await page.waitForTimeout(500);
    const text = await page.evaluate(() => document.body.innerText);
    const missing = frames.filter((f) => !text.includes(f));
    const colours = pngColours(fs.readFileSync(shot));
    if (errors.length) { console.error(errors.join('\n')); code = 1; }
    if (missing.length) { console.error('frames not shown: ' + missing.join(', ')); code = 1; }
    if (colours < 8) { console.error(`screenshot has ${colours} colours: blank`); code = 1; }
    console.log(JSON.stringify({ colours, missing, errors }));
  } catch (e) {
    console.error(String(e && e.stack || e));
    code = 1;
  } finally {
    await browser.close();
    srv.close();
  }
  process.exit(code);
})();
