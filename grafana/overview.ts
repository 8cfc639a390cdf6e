// The overview dashboard: every mode side by side, one row per question a reader asks. Metric
// names are those of docs/interfaces.md; grafana/build-dashboards.ts renders this to JSON.
import { LOOP_LAG_RESOLUTION_MS } from '../protocol/index.js';
import { CLI, SRV, quantile, rate, sum, type Section } from './spec.js';

const LAG_RES_S = LOOP_LAG_RESOLUTION_MS / 1000;

const serverSent = sum('mode', rate('wsbench_server_messages_sent_total', SRV));
const clientReceived = sum('mode, run_id', rate('wsbench_client_messages_received_total', CLI));
const latencyQ = (q: number) =>
  quantile(q, 'mode, run_id', 'wsbench_client_latency_seconds_bucket', CLI);
const cpu = (sel: string, by: string) => sum(by, rate('process_cpu_seconds_total', sel));
const CLIENT_BOUND_MAPPINGS = [
  { value: 0, text: 'no (server-bound, valid)', color: 'green' },
  { value: 1, text: 'YES: client-bound', color: 'red' },
];

export const OVERVIEW: Section[] = [
  {
    row: 'Headline',
    panels: [
      {
        title: 'Server deliveries/s',
        description: 'Frames the server wrote to client sockets per second (ticks x subscribers).',
        type: 'stat',
        unit: 'count:msg/s',
        queries: [{ expr: serverSent, legend: '{{mode}}' }],
        w: 6,
        h: 4,
      },
      {
        title: 'Client received/s',
        description: 'Frames the benchmark client received per second, all connections.',
        type: 'stat',
        unit: 'count:msg/s',
        queries: [{ expr: clientReceived, legend: '{{mode}} {{run_id}}' }],
        w: 6,
        h: 4,
      },
      {
        title: 'Latency p99',
        description: 'End-to-end latency: tick due time on the server to receipt by the client.',
        type: 'stat',
        unit: 's',
        queries: [{ expr: latencyQ(0.99), legend: '{{mode}} {{run_id}}' }],
        w: 6,
        h: 4,
      },
      {
        title: 'Client bound?',
        description:
          'YES means the client was saturated: the throughput measures the client, not the server.',
        type: 'stat',
        unit: 'bool_yes_no',
        queries: [
          {
            expr: `max by (mode, run_id) (wsbench_client_bound{${CLI}})`,
            legend: '{{mode}} {{run_id}}',
          },
        ],
        mappings: CLIENT_BOUND_MAPPINGS,
        w: 6,
        h: 4,
      },
    ],
  },
  {
    row: 'Throughput',
    panels: [
      {
        title: 'Messages/s: server sent vs client received',
        description:
          'Server deliveries and client receipts per mode. A gap between the two means frames queued or dropped.',
        type: 'timeseries',
        unit: 'count:msg/s',
        queries: [
          { expr: serverSent, legend: 'server sent {{mode}}' },
          { expr: clientReceived, legend: 'client received {{mode}} {{run_id}}' },
        ],
        w: 12,
        h: 8,
      },
      {
        title: 'Bandwidth: server sent vs client received',
        description: 'WebSocket payload bytes per second (SI: 1 MB/s = 10^6 B/s).',
        type: 'timeseries',
        unit: 'Bps',
        queries: [
          {
            expr: sum('mode', rate('wsbench_server_bytes_sent_total', SRV)),
            legend: 'server sent {{mode}}',
          },
          {
            expr: sum('mode, run_id', rate('wsbench_client_bytes_received_total', CLI)),
            legend: 'client received {{mode}} {{run_id}}',
          },
        ],
        w: 12,
        h: 8,
      },
      {
        title: 'Ticks generated/s vs target rate',
        description:
          'Ticks the generator produced per second, and the configured --rate (0 = as fast as possible).',
        type: 'timeseries',
        unit: 'count:ticks/s',
        queries: [
          {
            expr: sum('mode', rate('wsbench_server_ticks_generated_total', SRV)),
            legend: 'generated {{mode}}',
          },
          { expr: `max by (mode) (wsbench_server_target_rate{${SRV}})`, legend: 'target {{mode}}' },
        ],
        w: 12,
        h: 8,
      },
      {
        title: 'Broadcast loop duration p50 / p99',
        description: 'Time the server spends fanning one batch of ticks out to all sockets.',
        type: 'timeseries',
        unit: 's',
        queries: [
          {
            expr: quantile(0.5, 'mode', 'wsbench_server_broadcast_duration_seconds_bucket', SRV),
            legend: 'p50 {{mode}}',
          },
          {
            expr: quantile(0.99, 'mode', 'wsbench_server_broadcast_duration_seconds_bucket', SRV),
            legend: 'p99 {{mode}}',
          },
        ],
        w: 12,
        h: 8,
      },
    ],
  },
  {
    row: 'Delivery',
    panels: [
      {
        title: 'Delivered / sent',
        description:
          'Client receipts divided by server deliveries. Near 100% when one client-bench holds all connections; below means frames in flight or lost. Server and client are scraped at different instants, so with bursty modes short windows swing around 100%: zoom out to read it.',
        type: 'timeseries',
        unit: 'percentunit',
        queries: [
          {
            expr: `${sum('mode', rate('wsbench_client_messages_received_total', CLI))} / ${serverSent}`,
            legend: '{{mode}}',
          },
        ],
        w: 8,
        h: 8,
      },
      {
        title: 'Server drops and slow-client closes /s',
        description:
          'Frames the server skipped (backpressure: client buffer over --max-backpressure; closed: socket gone) and slow clients it closed.',
        type: 'timeseries',
        unit: 'count:msg/s',
        queries: [
          {
            expr: sum('mode, reason', rate('wsbench_server_messages_dropped_total', SRV)),
            legend: 'dropped {{reason}} {{mode}}',
          },
          {
            expr: sum('mode', rate('wsbench_server_slow_client_closes_total', SRV)),
            legend: 'slow-client closes {{mode}}',
          },
        ],
        w: 8,
        h: 8,
      },
      {
        title: 'Sequence gaps, duplicates, reorders /s',
        description: 'Seen by the client per symbol stream; all zero in a correct run.',
        type: 'timeseries',
        unit: 'count:msg/s',
        queries: [
          {
            expr: sum('mode, run_id', rate('wsbench_client_gaps_total', CLI)),
            legend: 'gaps {{mode}} {{run_id}}',
          },
          {
            expr: sum('mode, run_id', rate('wsbench_client_duplicates_total', CLI)),
            legend: 'duplicates {{mode}} {{run_id}}',
          },
          {
            expr: sum('mode, run_id', rate('wsbench_client_reorders_total', CLI)),
            legend: 'reorders {{mode}} {{run_id}}',
          },
        ],
        w: 8,
        h: 8,
      },
    ],
  },
  {
    row: 'Latency',
    panels: [
      {
        title: 'Latency p50 / p99 / p99.9',
        description:
          'From the tick due time (server, monotonic clock) to receipt by the client, over $__rate_interval windows.',
        type: 'timeseries',
        unit: 's',
        queries: [
          { expr: latencyQ(0.5), legend: 'p50 {{mode}} {{run_id}}' },
          { expr: latencyQ(0.99), legend: 'p99 {{mode}} {{run_id}}' },
          { expr: latencyQ(0.999), legend: 'p99.9 {{mode}} {{run_id}}' },
        ],
        w: 12,
        h: 9,
      },
      {
        title: 'Connect time p50 / p99',
        description:
          'WebSocket handshake time per connection, over the whole run (connects happen at the start).',
        type: 'timeseries',
        unit: 's',
        queries: [
          {
            expr: `histogram_quantile(0.5, sum by (mode, run_id, le) (wsbench_client_connect_seconds_bucket{${CLI}}))`,
            legend: 'p50 {{mode}} {{run_id}}',
          },
          {
            expr: `histogram_quantile(0.99, sum by (mode, run_id, le) (wsbench_client_connect_seconds_bucket{${CLI}}))`,
            legend: 'p99 {{mode}} {{run_id}}',
          },
        ],
        w: 12,
        h: 9,
      },
      {
        title: 'Latency heatmap: $mode',
        description: 'Frames per second in each latency bucket (one panel per selected mode).',
        type: 'heatmap',
        unit: 'count:msg/s',
        yUnit: 's',
        repeat: 'mode',
        queries: [
          {
            expr: sum('le', rate('wsbench_client_latency_seconds_bucket', CLI)),
            legend: '{{le}}',
            format: 'heatmap',
          },
        ],
        w: 8,
        h: 9,
      },
    ],
  },
  {
    row: 'CPU and client saturation',
    panels: [
      {
        title: 'CPU (cores): server vs client',
        description: 'process_cpu_seconds_total per second; 1.0 = one core fully busy.',
        type: 'timeseries',
        unit: 'count:cores',
        queries: [
          { expr: cpu(SRV, 'mode'), legend: 'server {{mode}}' },
          { expr: cpu(CLI, 'mode, run_id'), legend: 'client {{mode}} {{run_id}}' },
        ],
        w: 8,
        h: 8,
      },
      {
        title: 'Client saturation: busiest worker',
        description:
          'Busy share of the busiest client worker thread. Above 90% the client, not the server, is the bottleneck.',
        type: 'timeseries',
        unit: 'percentunit',
        redAbove: 0.9,
        min: 0,
        queries: [
          {
            expr: `max by (mode, run_id) (wsbench_client_worker_busy_ratio_max{${CLI}})`,
            legend: 'busiest worker {{mode}} {{run_id}}',
          },
        ],
        w: 8,
        h: 8,
      },
      {
        title: 'Client bound over time',
        description:
          'Red while the client was saturated: numbers from that window measure the client.',
        type: 'state-timeline',
        unit: 'bool_yes_no',
        queries: [
          {
            expr: `max by (mode, run_id) (wsbench_client_bound{${CLI}})`,
            legend: '{{mode}} {{run_id}}',
          },
        ],
        mappings: CLIENT_BOUND_MAPPINGS,
        w: 8,
        h: 8,
      },
    ],
  },
  {
    // A sharded run (client-bench --shard I/N on Swarm or Kubernetes): the panels above sum over
    // the selected shards; these show each shard on its own, to spot the one that lags.
    row: 'Shards',
    panels: [
      {
        title: 'Received/s per shard',
        description:
          'Frames each shard received per second. The shards of one run split the connections evenly, so their lines should lie together; one below the others is client-bound or started late.',
        type: 'timeseries',
        unit: 'count:msg/s',
        queries: [
          {
            expr: sum('mode, run_id, shard', rate('wsbench_client_messages_received_total', CLI)),
            legend: 'shard {{shard}} {{mode}} {{run_id}}',
          },
        ],
        w: 8,
        h: 8,
      },
      {
        title: 'Latency p99 per shard',
        description:
          'p99 of each shard over $__rate_interval. Across hosts (WSBENCH_CLOCK=wall) a constant offset between shards is the clock offset of their hosts.',
        type: 'timeseries',
        unit: 's',
        queries: [
          {
            expr: quantile(
              0.99,
              'mode, run_id, shard',
              'wsbench_client_latency_seconds_bucket',
              CLI,
            ),
            legend: 'p99 shard {{shard}} {{mode}} {{run_id}}',
          },
        ],
        w: 8,
        h: 8,
      },
      {
        title: 'Busiest worker per shard',
        description:
          'Busy share of the busiest worker thread of each shard. Above 90% that shard measures itself: the merged result is client-bound if any shard was.',
        type: 'timeseries',
        unit: 'percentunit',
        redAbove: 0.9,
        min: 0,
        queries: [
          {
            expr: `max by (mode, run_id, shard) (wsbench_client_worker_busy_ratio_max{${CLI}})`,
            legend: 'shard {{shard}} {{mode}} {{run_id}}',
          },
        ],
        w: 8,
        h: 8,
      },
    ],
  },
  {
    row: 'Memory, event loop, GC',
    panels: [
      {
        title: 'Resident memory (RSS)',
        description: 'process_resident_memory_bytes of the server and the client.',
        type: 'timeseries',
        unit: 'bytes',
        queries: [
          {
            expr: `max by (mode) (process_resident_memory_bytes{${SRV}})`,
            legend: 'server {{mode}}',
          },
          {
            expr: `max by (mode, run_id) (process_resident_memory_bytes{${CLI}})`,
            legend: 'client {{mode}} {{run_id}}',
          },
        ],
        w: 8,
        h: 8,
      },
      {
        title: 'V8 heap used',
        description:
          'nodejs_heap_size_used_bytes (main thread isolate; rises and falls with garbage). ' +
          "Server live heap: wsbench_server_heap_live_bytes, the old generation right after each major GC, what survived it; a rising line is retained objects (a leak), heap used's peaks rising with it flat is V8 letting more garbage pile up between collections.",
        type: 'timeseries',
        unit: 'bytes',
        queries: [
          {
            expr: `max by (mode) (nodejs_heap_size_used_bytes{${SRV}})`,
            legend: 'server {{mode}}',
          },
          {
            expr: `max by (mode) (wsbench_server_heap_live_bytes{${SRV}})`,
            legend: 'server {{mode}} live (after major GC)',
          },
          {
            expr: `max by (mode, run_id) (nodejs_heap_size_used_bytes{${CLI}})`,
            legend: 'client {{mode}} {{run_id}}',
          },
        ],
        w: 8,
        h: 8,
      },
      {
        title: 'External memory (Buffers)',
        description: 'nodejs_external_memory_bytes: Buffers and native memory held by JS objects.',
        type: 'timeseries',
        unit: 'bytes',
        queries: [
          {
            expr: `max by (mode) (nodejs_external_memory_bytes{${SRV}})`,
            legend: 'server {{mode}}',
          },
          {
            expr: `max by (mode, run_id) (nodejs_external_memory_bytes{${CLI}})`,
            legend: 'client {{mode}} {{run_id}}',
          },
        ],
        w: 8,
        h: 8,
      },
      {
        title: 'Event-loop lag p99',
        description:
          `nodejs_eventloop_lag_p99_seconds since the previous scrape, less the monitor's ${LOOP_LAG_RESOLUTION_MS} ms sampling interval ` +
          '(prom-client includes it: an idle loop reads that much).',
        type: 'timeseries',
        unit: 's',
        queries: [
          {
            expr: `clamp_min(max by (mode) (nodejs_eventloop_lag_p99_seconds{${SRV}}) - ${LAG_RES_S}, 0)`,
            legend: 'server {{mode}}',
          },
          {
            expr: `clamp_min(max by (mode, run_id) (nodejs_eventloop_lag_p99_seconds{${CLI}}) - ${LAG_RES_S}, 0)`,
            legend: 'client {{mode}} {{run_id}}',
          },
        ],
        w: 12,
        h: 8,
      },
      {
        title: 'GC time (share of wall time)',
        description: 'Seconds spent in garbage collection per second, all GC kinds.',
        type: 'timeseries',
        unit: 'percentunit',
        queries: [
          {
            expr: sum('mode', rate('nodejs_gc_duration_seconds_sum', SRV)),
            legend: 'server {{mode}}',
          },
          {
            expr: sum('mode, run_id', rate('nodejs_gc_duration_seconds_sum', CLI)),
            legend: 'client {{mode}} {{run_id}}',
          },
        ],
        w: 12,
        h: 8,
      },
    ],
  },
  {
    row: 'Connections, HTTP, errors',
    panels: [
      {
        title: 'Connections',
        description: 'Clients the server holds, and client-side connections by state.',
        type: 'timeseries',
        unit: 'short',
        queries: [
          {
            expr: `sum by (mode) (wsbench_server_clients_connected{${SRV}})`,
            legend: 'server connected {{mode}}',
          },
          {
            expr: `sum by (mode, run_id, state) (wsbench_client_connections{${CLI}})`,
            legend: 'client {{state}} {{mode}} {{run_id}}',
          },
        ],
        w: 8,
        h: 8,
      },
      {
        title: 'HTTP requests/s by route',
        description:
          '/health, /metrics, /snapshot (the autocannon target) and 404s on the WebSocket port.',
        type: 'timeseries',
        unit: 'reqps',
        queries: [
          {
            expr: sum('mode, route', rate('wsbench_server_http_requests_total', SRV)),
            legend: '{{route}} {{mode}}',
          },
        ],
        w: 8,
        h: 8,
      },
      {
        title: 'Server handler errors /s',
        description:
          'Exceptions caught in a per-connection message or close handler (that connection closed with 1011, the server stays up). Zero in a healthy run; anything else is a server bug or hostile input the server did not expect.',
        type: 'timeseries',
        unit: 'count:errors/s',
        queries: [
          {
            expr: sum('mode, handler', rate('wsbench_server_handler_errors_total', SRV)),
            legend: '{{handler}} {{mode}}',
          },
        ],
        w: 8,
        h: 8,
      },
    ],
  },
];
