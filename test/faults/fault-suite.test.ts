import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FaultProxy, NO_FAULTS } from '../../faults/fault-proxy.js';
import { rssGrowth, runFaultScenario, seededRandom } from '../../faults/fault-scenario.js';
import { faultScenarios, formatReport, jobEndedExactly } from '../../faults/run-faults.js';

/** The short version of `npm run faults`: every scenario but the soak, at a small size. */
describe('fault suite (short): standalone workers against local --serve --no-worker', () => {
  for (const scenario of faultScenarios('short')) {
    it(
      `${scenario.name}: every image ends with exactly its expected result, nothing in the DLQ`,
      { timeout: (scenario.timeoutSeconds + 60) * 1000 },
      async (t) => {
        const report = await runFaultScenario(scenario);
        t.diagnostic(formatReport(report));
        const ending = { lost: report.lost, wrong: report.wrong, deadLettered: report.deadLettered };
        assert.deepEqual(
          ending,
          { lost: 0, wrong: 0, deadLettered: 0 },
          [JSON.stringify(ending), ...report.deadLetters].join('\n'),
        );
        if (scenario.kills) assert.equal(report.faults.kills, scenario.kills, 'every kill landed while work remained');
        if (scenario.faults) {
          assert.ok(
            report.faults.serviceUnavailable > 0 &&
              report.faults.resetsBeforeUpstream > 0 &&
              report.faults.resetsAfterUpstream > 0,
            JSON.stringify(report.faults),
          );
        }
        if (scenario.job) {
          if (report.job?.completionEvents === undefined)
            t.diagnostic('Job Completed events not counted: moto_server is not installed (the job state still is)');
          assert.ok(
            jobEndedExactly(report, scenario.brokenFiles ?? 0),
            JSON.stringify({ ...report.job, extraResultWrites: report.extraResultWrites }),
          );
        }
        if (scenario.inferenceFault)
          assert.deepEqual(report.faults.workerExits, [1], 'the faulty worker exited non-zero once and was replaced');
      },
    );
  }
});

describe('fault suite parts', () => {
  it('rssGrowth compares the peak of the last third with the middle third', () => {
    assert.deepEqual(rssGrowth([500, 900, 800, 1000, 990, 1000, 1050, 1020, 1010]), {
      middlePeakMb: 1000,
      lastPeakMb: 1050,
      growth: 0.050000000000000044,
    });
  });

  it('seededRandom repeats its sequence for a seed', () => {
    const a = seededRandom(7);
    const b = seededRandom(7);
    const first = [a(), a(), a()];
    assert.deepEqual(first, [b(), b(), b()]);
    assert.ok(first.every((value) => value >= 0 && value < 1));
  });

  it('the fault proxy refuses to forward anywhere but loopback', async () => {
    await assert.rejects(FaultProxy.start('http://example.com:80', NO_FAULTS), /only forwards to loopback/);
  });
});
