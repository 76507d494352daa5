/**
 * The dashboard's one page: HTML, the report's stylesheet (the same look as results' report.html)
 * plus the dashboard's own rules, and a small script (no framework, no CDN: nothing is fetched but
 * this server's API). Every text from runs, hosts and logs is put in with textContent, never as HTML.
 * The token comes from the page's own URL and goes on every API request.
 */
import { REPORT_STYLE } from '@labrig/experiments';

const STYLE = `${REPORT_STYLE}
nav { display: flex; gap: 1.2em; align-items: baseline; border-bottom: 1px solid #ddd; padding-bottom: .4em; margin-bottom: 1em; }
nav a { color: #1d1d1f; text-decoration: none; }
nav a.here { font-weight: 600; border-bottom: 2px solid #1d1d1f; }
nav .brand { font-weight: 700; }
nav .live { margin-left: auto; color: #555; font-size: 12px; }
a { color: #0b57d0; }
.state { font-weight: 600; }
td.cell { text-align: center; cursor: pointer; min-width: 5em; }
td.cell.ok { background: #e6f4ea; color: #137333; }
td.cell.skipped { background: #f1f3f4; color: #5f6368; }
td.cell.failed { background: #fdecec; color: #b00020; }
td.cell.running { background: #fff4d6; color: #8a6d00; }
td.cell.aborted, td.cell.not-run { background: #f4f4f6; color: #777; }
td.cell.pending { color: #aaa; }
td.cell.none { cursor: default; }
tr.live td.status { color: #8a6d00; }
pre.log { background: #f8f8fa; border: 1px solid #ddd; padding: .6em; max-height: 28em; overflow: auto; white-space: pre-wrap; }
.error { color: #b00020; white-space: pre-wrap; }
.muted { color: #777; }
.plots { display: flex; flex-wrap: wrap; gap: 1.5em; }
.plots img { max-width: 46em; border: 1px solid #eee; }
code.sha { font-size: 11px; color: #555; }
`;

const SCRIPT = String.raw`
(function () {
  'use strict';
  var token = new URLSearchParams(location.search).get('token') || '';
  var app = document.getElementById('app');
  var liveEl = document.getElementById('live');
  var source = null;
  window.labrigPageLoads = (window.labrigPageLoads || 0) + 1;

  function api(path) { return path + (path.indexOf('?') < 0 ? '?' : '&') + 'token=' + encodeURIComponent(token); }
  function getJson(path) {
    return fetch(api(path)).then(function (r) {
      if (!r.ok) throw new Error(path + ': HTTP ' + r.status);
      return r.json();
    });
  }
  function el(tag, attrs, kids) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === 'text') e.textContent = attrs[k];
      else if (k === 'class') e.className = attrs[k];
      else e.setAttribute(k, attrs[k]);
    });
    (kids || []).forEach(function (c) { if (c) e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c); });
    return e;
  }
  function clear(e) { while (e.firstChild) e.removeChild(e.firstChild); }
  function dur(ms) {
    if (ms === undefined || ms === null) return '';
    if (ms < 1000) return ms + ' ms';
    if (ms < 60000) return (ms / 1000).toFixed(1) + ' s';
    if (ms < 3600000) return Math.floor(ms / 60000) + ' min ' + Math.round((ms % 60000) / 1000) + ' s';
    return Math.floor(ms / 3600000) + ' h ' + Math.round((ms % 3600000) / 60000) + ' min';
  }
  function when(iso) { try { return new Date(iso).toLocaleString(); } catch (e) { return iso; } }
  function live(text) { liveEl.textContent = text || ''; }
  function follow(path, onUpdate) {
    if (source) source.close();
    source = new EventSource(api(path));
    source.addEventListener('update', function (ev) { onUpdate(JSON.parse(ev.data)); });
    source.addEventListener('end', function () { source.close(); source = null; live('finished'); });
    source.onerror = function () { live('reconnecting'); };
    source.onopen = function () { live('live'); };
  }
  function nav(here) {
    document.querySelectorAll('nav a[data-view]').forEach(function (a) { a.className = a.getAttribute('data-view') === here ? 'here' : ''; });
  }

  // ---- runs
  function runsView() {
    nav('runs');
    clear(app);
    app.appendChild(el('h1', { text: 'Runs' }));
    var table = el('table', { id: 'runs' });
    app.appendChild(table);
    follow('/api/runs-stream', function (runs) {
      clear(table);
      table.appendChild(el('tr', {}, ['run', 'system', 'target', 'platform', 'started', 'duration', 'hosts', 'ok', 'skipped', 'failed', 'state'].map(function (h) { return el('th', { text: h }); })));
      runs.forEach(function (r) {
        var state = r.live ? 'running' : r.ok ? 'ok' : 'failed';
        var link = el('a', { href: '#/runs/' + r.id, text: r.id });
        table.appendChild(el('tr', { class: r.live ? 'live' : state, 'data-run': r.id }, [
          el('td', {}, [link]), el('td', { text: r.system || '' }), el('td', { text: r.target }), el('td', { text: r.platform || '' }),
          el('td', { text: when(r.startedAt) }), el('td', { class: 'num', text: r.live ? '' : dur(r.durationMs) }),
          el('td', { class: 'num', text: String(r.hosts) }), el('td', { class: 'num', text: String(r.counts.ok) }),
          el('td', { class: 'num', text: String(r.counts.skipped) }), el('td', { class: 'num', text: String(r.counts.failed) }),
          el('td', { class: 'status', text: state })
        ]));
      });
    });
  }

  function runView(id) {
    nav('runs');
    clear(app);
    var head = el('div');
    var grid = el('table', { id: 'grid' });
    var failures = el('div', { id: 'failures' });
    var logBox = el('div', { id: 'log' });
    app.appendChild(head);
    app.appendChild(grid);
    app.appendChild(failures);
    app.appendChild(logBox);
    var opened = null;
    function showLog(host, step) {
      opened = { host: host, step: step };
      getJson('/api/runs/' + id + '/log?host=' + encodeURIComponent(host) + '&step=' + encodeURIComponent(step)).then(function (t) {
        clear(logBox);
        logBox.appendChild(el('h2', { text: host + ' · ' + step + (t.truncated ? ' (the end of its log)' : '') }));
        logBox.appendChild(el('pre', { class: 'log', id: 'log-text', text: t.text || '(empty)' }));
      }).catch(function (e) { clear(logBox); logBox.appendChild(el('p', { class: 'error', text: String(e.message) })); });
    }
    follow('/api/runs/' + id + '/events', function (r) {
      clear(head);
      head.appendChild(el('h1', { text: r.title }));
      head.appendChild(el('p', { class: 'meta', text: [r.platform ? 'platform ' + r.platform : '', 'started ' + when(r.startedAt), r.live ? 'running' : (r.ok ? 'ok' : 'FAILED') + ' in ' + dur(r.durationMs), r.stopped ? 'stopped: ' + r.stopped : ''].filter(Boolean).join(' · ') }));
      head.appendChild(el('p', { class: 'counts', id: 'run-state', 'data-state': r.live ? 'running' : r.ok ? 'ok' : 'failed', text: r.counts.ok + ' ok, ' + r.counts.skipped + ' skipped, ' + r.counts.failed + ' failed, ' + r.counts.running + ' running of ' + r.hosts + ' hosts' }));
      clear(grid);
      grid.appendChild(el('tr', {}, [el('th', { text: 'host' })].concat(r.steps.map(function (s) { return el('th', { text: s.name, title: s.title || s.name }); }))));
      r.hostNames.forEach(function (h) {
        var row = el('tr', { 'data-host': h }, [el('th', { text: h })]);
        r.steps.forEach(function (s) {
          var c = (r.cells[h] || {})[s.name];
          if (!c) { row.appendChild(el('td', { class: 'cell none', text: '' })); return; }
          var td = el('td', { class: 'cell ' + c.state, 'data-host': h, 'data-step': s.name, 'data-state': c.state, title: c.error || c.state, text: c.state + (c.durationMs !== undefined ? ' · ' + dur(c.durationMs) : '') });
          td.addEventListener('click', function () { showLog(h, s.name); });
          row.appendChild(td);
        });
        grid.appendChild(row);
      });
      // Failures under the grid: the error and the last lines of that host's step log.
      clear(failures);
      r.hostNames.forEach(function (h) {
        r.steps.forEach(function (s) {
          var c = (r.cells[h] || {})[s.name];
          if (!c || c.state !== 'failed') return;
          var box = el('div', { class: 'failure', 'data-host': h, 'data-step': s.name }, [el('h3', { text: h + ' · ' + s.name + ': failed' }), el('p', { class: 'error', text: c.error || '' })]);
          failures.appendChild(box);
          getJson('/api/runs/' + id + '/log?host=' + encodeURIComponent(h) + '&step=' + encodeURIComponent(s.name)).then(function (t) {
            var lines = (t.text || '').replace(/\n+$/, '').split('\n').slice(-12).join('\n');
            box.appendChild(el('pre', { class: 'log tail', text: lines || '(empty log)' }));
          }).catch(function () { /* the log is shown when opened */ });
        });
      });
      if (opened) showLog(opened.host, opened.step);
    });
  }

  // ---- experiments
  function experimentsView() {
    nav('experiments');
    clear(app);
    app.appendChild(el('h1', { text: 'Experiments' }));
    var table = el('table', { id: 'experiments' });
    app.appendChild(table);
    live('');
    if (source) { source.close(); source = null; }
    getJson('/api/experiments').then(function (xs) {
      table.appendChild(el('tr', {}, ['plan', 'system', 'platform', 'runs', 'done', 'failed', 'running'].map(function (h) { return el('th', { text: h }); })));
      xs.forEach(function (x) {
        table.appendChild(el('tr', {}, [
          el('td', {}, [el('a', { href: '#/experiments/' + x.plan, text: x.plan })]), el('td', { text: x.system }), el('td', { text: x.platform }),
          el('td', { class: 'num', text: String(x.runs) }), el('td', { class: 'num', text: String(x.done) }), el('td', { class: 'num', text: String(x.failed) }),
          el('td', { class: x.error ? 'error' : 'num', text: x.error || String(x.running) })
        ]));
      });
    });
  }

  function experimentView(plan) {
    nav('experiments');
    clear(app);
    var head = el('div');
    var plots = el('div', { class: 'plots', id: 'plots' });
    var table = el('table', { id: 'exp-runs' });
    app.appendChild(head);
    app.appendChild(plots);
    app.appendChild(el('h2', { text: 'Runs' }));
    app.appendChild(table);
    var shownDone = -1;
    var version = 0;
    follow('/api/experiments/' + plan + '/events', function (x) {
      clear(head);
      head.appendChild(el('h1', { text: x.plan }));
      if (x.description) head.appendChild(el('p', { class: 'meta', text: x.description }));
      head.appendChild(el('p', { class: 'meta', text: 'system ' + x.system + ' · platform ' + x.platform }));
      if (x.expiry) {
        var left = Date.parse(x.expiry.expiresAt) - Date.now();
        head.appendChild(el('p', { class: left < 3600000 ? 'error' : 'meta', id: 'expiry', text: x.expiry.what + ' expires ' + when(x.expiry.expiresAt) + (left > 0 ? ' (in ' + dur(left) + ')' : ' (expired)') + (x.expiry.last ? ' · coordinator: ' + x.expiry.last : '') }));
      }
      if (x.coordinator) {
        var co = x.coordinator;
        head.appendChild(el('p', { class: co.error ? 'error' : 'meta', id: 'coordinator', 'data-state': co.state || 'unknown', text: 'handed to the coordinator ' + co.host + ' at ' + when(co.time) + (co.state ? ' · coordinator ' + co.state + (co.etaMs !== undefined ? ', about ' + dur(Math.round(co.etaMs)) + ' left' : '') + ' · runs as its journal has them' : '') + (co.error ? ' · ' + co.error : '') }));
      }
      head.appendChild(el('p', { class: 'counts' }, [el('span', { id: 'done-count', text: String(x.done) }), ' of ' + x.runs + ' runs done, ' + x.failed + ' failed, ' + x.running + ' running']));
      if (x.done !== shownDone) {
        shownDone = x.done;
        version++;
        clear(plots);
        if (x.done > 0) x.plots.forEach(function (p) {
          plots.appendChild(el('figure', {}, [el('img', { alt: p.title, 'data-plot': p.name, src: api('/api/experiments/' + plan + '/plots/' + encodeURIComponent(p.name) + '.svg?v=' + version) })]));
        });
      }
      clear(table);
      table.appendChild(el('tr', {}, ['run', 'state', 'attempt'].concat(x.params, x.metrics, ['files']).map(function (h) { return el('th', { text: h }); })));
      x.rows.forEach(function (r) {
        var files = el('td', { class: 'files' });
        r.files.forEach(function (f) {
          files.appendChild(el('a', { href: api('/api/files/' + plan + '/' + f.path.split('/').map(encodeURIComponent).join('/')), target: '_blank', title: f.sha256 ? 'sha256 ' + f.sha256 : '', text: f.path.split('/').slice(-2).join('/') }));
          if (f.sha256) files.appendChild(el('code', { class: 'sha', text: f.sha256.slice(0, 12) }));
          files.appendChild(document.createTextNode(' '));
        });
        table.appendChild(el('tr', { class: r.status, 'data-run': r.id }, [el('td', { text: r.id }), el('td', { class: 'status', text: r.status + (r.reason ? ': ' + r.reason : '') }), el('td', { class: 'num', text: String(r.attempt) })]
          .concat(x.params.map(function (p) { return el('td', { class: 'num', text: r.params[p] === undefined ? '' : String(r.params[p]) }); }))
          .concat(x.metrics.map(function (m) { return el('td', { class: 'num', text: r.metrics[m] === undefined ? '' : String(Math.round(r.metrics[m] * 100) / 100) }); }))
          .concat([files])));
      });
    });
  }

  function route() {
    var h = location.hash.replace(/^#\/?/, '').split('/');
    if (h[0] === 'runs' && h[1]) runView(h[1]);
    else if (h[0] === 'experiments' && h[1]) experimentView(h[1]);
    else if (h[0] === 'experiments') experimentsView();
    else runsView();
  }
  window.addEventListener('hashchange', route);
  route();
})();
`;

export const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>labrig dashboard</title>
<style>${STYLE}</style>
</head>
<body>
<nav><span class="brand">labrig</span><a href="#/runs" data-view="runs">Runs</a><a href="#/experiments" data-view="experiments">Experiments</a><span class="live" id="live"></span></nav>
<main id="app"></main>
<script>${SCRIPT}</script>
</body>
</html>
`;
