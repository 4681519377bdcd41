// The local cloud's live dashboard: polls `data` (same origin) and redraws. Plain script, no
// build step; Chart.js comes from the local cloud (vendor/), never from a CDN.
//
// Every value from the data is put on the page with textContent (or as a chart label, drawn on a
// canvas), never as HTML: dead-letter samples, product ids and categories are client data.
(function () {
  'use strict';

  var POLL_MS = 1500;
  var COLORS = {
    accepted: '#3867d6', valid: '#20bf6b', invalid: '#eb3b5a', stored: '#8854d0',
  };
  var PALETTE = ['#3867d6', '#20bf6b', '#f7b731', '#8854d0', '#eb3b5a', '#0fb9b1', '#fa8231', '#4b6584', '#a5b1c2'];
  var integer = new Intl.NumberFormat('en-US');
  var decimal = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 });

  function $(id) { return document.getElementById(id); }
  function setText(id, text) { $(id).textContent = text; }
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  function age(seconds) {
    if (seconds === undefined || seconds === null) return '-';
    if (seconds < 90) return Math.round(seconds) + ' s';
    if (seconds < 5400) return Math.round(seconds / 60) + ' min';
    return decimal.format(seconds / 3600) + ' h';
  }
  function money(amount, currency) {
    try {
      return new Intl.NumberFormat('en-US', { style: 'currency', currency: currency }).format(amount);
    } catch (e) {
      return currency + ' ' + decimal.format(amount);
    }
  }
  function clock(ms) { return new Date(ms).toISOString().slice(11, 19); }

  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.font.size = 11;
  Chart.defaults.plugins.legend.labels.boxWidth = 12;

  var charts = {
    rates: new Chart($('chart-rates'), {
      type: 'line',
      data: { labels: [], datasets: [] },
      options: {
        interaction: { mode: 'index', intersect: false },
        scales: {
          x: { ticks: { maxTicksLimit: 8, maxRotation: 0 } },
          y: { beginAtZero: true, title: { display: true, text: 'events/s' } },
        },
        elements: { point: { radius: 0 }, line: { borderWidth: 2, cubicInterpolationMode: 'monotone' } },
      },
    }),
    validity: new Chart($('chart-validity'), {
      type: 'doughnut',
      data: { labels: ['valid', 'invalid'], datasets: [{ data: [0, 0], backgroundColor: [COLORS.valid, COLORS.invalid] }] },
      options: { plugins: { legend: { position: 'bottom' } } },
    }),
    revenue: new Chart($('chart-revenue'), {
      type: 'bar',
      data: { labels: [], datasets: [{ label: 'revenue', data: [], backgroundColor: '#3867d6' }] },
      options: {
        plugins: { legend: { display: false } },
        scales: { x: { ticks: { maxRotation: 0, autoSkip: true } }, y: { beginAtZero: true } },
      },
    }),
    products: horizontalBar('chart-products', '#0fb9b1'),
    categories: horizontalBar('chart-categories', '#fa8231'),
    segments: new Chart($('chart-segments'), {
      type: 'doughnut',
      data: { labels: [], datasets: [{ data: [], backgroundColor: PALETTE }] },
      options: { plugins: { legend: { position: 'right' } } },
    }),
  };

  function horizontalBar(id, color) {
    var units = [];
    var chart = new Chart($(id), {
      type: 'bar',
      data: { labels: [], datasets: [{ label: 'events', data: [], backgroundColor: color }] },
      options: {
        indexAxis: 'y',
        plugins: {
          legend: { display: false },
          tooltip: { callbacks: { afterLabel: function (item) { return 'units bought: ' + integer.format(units[item.dataIndex] || 0); } } },
        },
        scales: { x: { beginAtZero: true, ticks: { precision: 0 } }, y: { ticks: { autoSkip: false } } },
      },
    });
    chart.$units = units;
    return chart;
  }

  function setRanked(chart, items) {
    chart.data.labels = items.map(function (i) { return i.key; });
    chart.data.datasets[0].data = items.map(function (i) { return i.events; });
    chart.$units.length = 0;
    items.forEach(function (i) { chart.$units.push(i.units); });
    chart.update();
  }

  var selectedCurrency;
  var chosenCurrency;

  function render(data) {
    setText('stack', data.stackName);
    setText('updated', 'updated ' + clock(Date.parse(data.generatedAt)) + ' UTC');

    // Totals and the current rate per stage.
    data.stages.forEach(function (stage) {
      setText('total-' + stage.key, integer.format(data.totals[stage.key] || 0));
      setText('rate-' + stage.key, decimal.format(data.current[stage.key] || 0) + ' events/s');
    });
    var share = data.validity.share;
    setText('validity', share === undefined ? '–' : decimal.format(share * 100) + ' %');

    // Events/s by stage.
    charts.rates.data.labels = data.rates.at.map(clock);
    charts.rates.data.datasets = data.stages.map(function (stage) {
      return {
        label: stage.label, data: data.rates.rates[stage.key], borderColor: COLORS[stage.key], backgroundColor: COLORS[stage.key],
        // Stored often equals valid: dashed, so the line under it still shows.
        borderDash: stage.key === 'stored' ? [6, 4] : [],
      };
    });
    charts.rates.update();

    charts.validity.data.datasets[0].data = [data.validity.valid, data.validity.invalid];
    charts.validity.update();

    renderHealth(data.health);
    renderDlq(data.dlq);
    if (data.aggregates) renderAggregates(data.aggregates);
    if (data.segments) renderSegments(data.segments);

    var errors = Object.keys(data.errors || {});
    var footer = $('errors');
    footer.hidden = errors.length === 0;
    footer.textContent = errors.map(function (name) { return name + ' could not be read: ' + data.errors[name]; }).join(' · ');
  }

  function renderHealth(health) {
    var box = $('health');
    var status = health ? health.status : 'unknown';
    box.className = 'health health-' + status;
    setText('health-status', health ? health.status : 'unknown');
    var list = $('health-reasons');
    clear(list);
    (health ? health.reasons : []).forEach(function (reason) {
      list.appendChild(el('li', 'sev-' + reason.severity, reason.message));
    });
  }

  function renderDlq(dlq) {
    setText('dlq-depth', dlq ? integer.format(dlq.depth) : '–');
    setText('dlq-oldest', dlq && dlq.depth > 0 ? 'oldest ' + age(dlq.oldest_age_seconds) : 'empty');
    var box = $('dlq-reasons');
    clear(box);
    if (!dlq || dlq.reasons.length === 0) {
      box.appendChild(el('p', 'muted', dlq && dlq.depth > 0 ? 'Messages in flight: reasons on the next read.' : 'No dead letters.'));
      return;
    }
    dlq.reasons.forEach(function (reason) {
      var item = el('div', 'dlq-reason');
      var head = el('div', 'dlq-head');
      head.appendChild(el('span', 'dlq-name', reason.reason));
      head.appendChild(el('span', 'dlq-count', integer.format(reason.count) + ' · oldest ' + age(reason.oldest_age_seconds)));
      item.appendChild(head);
      item.appendChild(el('div', 'dlq-codes', reason.codes.map(function (c) { return c.code + ' ' + c.count; }).join(', ')));
      var samples = el('ul', 'dlq-samples');
      reason.samples.forEach(function (sample) {
        var li = el('li');
        li.appendChild(el('code', '', sample.event_id));
        li.appendChild(document.createTextNode(' ' + (sample.error || '')));
        samples.appendChild(li);
      });
      item.appendChild(samples);
      box.appendChild(item);
    });
    if (dlq.peeked < dlq.depth) box.appendChild(el('p', 'muted', 'Reasons of the ' + integer.format(dlq.peeked) + ' messages read of ' + integer.format(dlq.depth) + '.'));
  }

  function renderAggregates(aggregates) {
    var revenue = aggregates.revenue;
    var currencies = Object.keys(revenue.currencies);
    var select = $('currency');
    var sums = {};
    currencies.forEach(function (c) { sums[c] = revenue.currencies[c].reduce(function (a, b) { return a + b; }, 0); });
    // Until someone picks one: USD, else EUR, else the first (amounts in different currencies are
    // not comparable, so "the largest" would mean nothing).
    if (!chosenCurrency || currencies.indexOf(chosenCurrency) === -1) {
      selectedCurrency = ['USD', 'EUR'].filter(function (c) { return currencies.indexOf(c) !== -1; })[0] || currencies[0];
    } else {
      selectedCurrency = chosenCurrency;
    }
    var options = Array.prototype.map.call(select.options, function (o) { return o.value; });
    if (options.join() !== currencies.join()) {
      clear(select);
      currencies.forEach(function (c) { select.appendChild(el('option', '', c)).value = c; });
    }
    select.value = selectedCurrency || '';
    select.disabled = currencies.length === 0;
    setText('revenue-totals', currencies.length === 0 ? 'no purchases in the last 24 hours' :
      '24 h: ' + currencies.map(function (c) { return money(sums[c], c); }).join(' · '));
    charts.revenue.data.labels = revenue.hours.map(function (h, i) {
      return i === 0 || h.slice(11, 13) === '00' ? [h.slice(11, 13) + ':00', h.slice(5, 10)] : h.slice(11, 13) + ':00';
    });
    var series = selectedCurrency ? revenue.currencies[selectedCurrency] : [];
    charts.revenue.data.datasets[0].label = selectedCurrency || 'revenue';
    charts.revenue.data.datasets[0].data = series;
    charts.revenue.options.scales.y.title = { display: Boolean(selectedCurrency), text: selectedCurrency || '' };
    charts.revenue.update();

    setRanked(charts.products, aggregates.topProducts);
    setRanked(charts.categories, aggregates.topCategories);
  }

  function renderSegments(segments) {
    charts.segments.data.labels = segments.counts.map(function (s) { return s.segment; });
    charts.segments.data.datasets[0].data = segments.counts.map(function (s) { return s.count; });
    charts.segments.update();
    setText('segments-basis', 'user_segment of ' + (segments.sampled ? 'the first ' : '') + integer.format(segments.scanned) + ' stored events');
  }

  $('currency').addEventListener('change', function (event) {
    chosenCurrency = event.target.value;
    if (lastData && lastData.aggregates) renderAggregates(lastData.aggregates);
  });

  var timer;
  var inFlight = false;
  var lastData;
  function poll() {
    if (inFlight) return;
    inFlight = true;
    fetch('data', { cache: 'no-store' })
      .then(function (response) {
        if (!response.ok) throw new Error('data answered ' + response.status);
        return response.json();
      })
      .then(function (data) {
        $('offline').hidden = true;
        lastData = data;
        render(data);
      })
      .catch(function () {
        $('offline').hidden = false;
      })
      .then(function () {
        inFlight = false;
        clearTimeout(timer);
        timer = setTimeout(poll, POLL_MS);
      });
  }
  poll();
})();
