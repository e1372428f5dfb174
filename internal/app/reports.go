package app

import (
	"context"
	"strconv"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/atomicfile"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/config"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/console"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/finding"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/github"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/github/workflow"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/report"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/report/annotations"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/report/jsonreport"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/report/sarif"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/report/summary"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/report/text"
)

// writeReports sends the one result to every sink: the log, the table, the
// local report files, GitHub, and the runner's file commands. A sink that
// fails is logged; the others are still written. It reports whether every
// file the run writes (the JSON, SARIF, JUnit and OCSF reports, the job
// summary, the step outputs) was written: a run whose reports are missing
// has not passed (ExitReportsIncomplete). GitHub API sinks only warn, as
// documented.
func writeReports(ctx context.Context, d Deps, s config.Settings, log *console.Console, res *finding.Result, workspace string) (written bool) {
	logProblems(log, *res)
	log.Raw(text.Render(*res))

	written = true
	outputs := resultOutputs(*res)
	if s.ReportJSON != "" {
		if writeJSONReport(d, s, log, *res) {
			outputs["report-json"] = s.ReportJSON
		} else {
			written = false
		}
	}
	if s.SARIFFile != "" {
		if writeSARIFReport(d, s, log, *res, workspace) {
			outputs["sarif-file"] = s.SARIFFile
		} else {
			written = false
		}
	}
	if !writeOtherToolReports(d, s, log, *res) {
		written = false
	}
	if id := publish(ctx, d, s, log, *res); id != "" {
		outputs["sarif-id"] = id
	}
	notifyPeople(ctx, d, s, log, *res)
	if log.InActions() {
		if err := annotations.Write(log.Writer(), *res, annotations.Options{}); err != nil {
			log.Warningf("annotations: %v", err)
		}
	}
	return writeStepFiles(d, log, *res, outputs) && written
}

// logProblems puts every warning and every target that could not be scanned
// in the log.
func logProblems(log *console.Console, res finding.Result) {
	for _, w := range res.Warnings {
		log.Warningf("%s", w)
	}
	for _, e := range res.Errors {
		where := e.Account
		if e.Region != "" {
			where += "/" + e.Region
		}
		log.Warningf("could not scan %s (%s): %s", where, e.Stage, e.Message)
	}
}

// resultOutputs are the step outputs every run sets: the verdict and counts.
func resultOutputs(res finding.Result) map[string]string {
	outputs := map[string]string{"result": report.Verdict(res)}
	t := report.Count(res)
	for _, sev := range finding.Severities {
		outputs[sev.String()] = strconv.Itoa(t.BySeverity[sev])
	}
	outputs["elsewhere"] = strconv.Itoa(t.Elsewhere)
	outputs["allowlisted"] = strconv.Itoa(t.Allowlisted)
	outputs["total"] = strconv.Itoa(t.Total)
	return outputs
}

// writeJSONReport writes the JSON report and reports whether it did. A
// failure is logged as an error.
func writeJSONReport(d Deps, s config.Settings, log *console.Console, res finding.Result) bool {
	data, err := jsonreport.Marshal(res, d.Version)
	if err == nil {
		err = writeFile(s.ReportJSON, data)
	}
	if err != nil {
		log.Errorf("write JSON report %s: %v", s.ReportJSON, err)
		return false
	}
	log.Infof("JSON report: %s", s.ReportJSON)
	return true
}

// writeSARIFReport writes the SARIF report and reports whether it did. A
// failure is logged as an error.
func writeSARIFReport(d Deps, s config.Settings, log *console.Console, res finding.Result, workspace string) bool {
	opts := sarif.Options{
		ToolVersion:  d.Version,
		Category:     s.Category,
		FallbackFile: sarif.ChooseFallbackFile(workspace, s.ConfigPath, d.Getenv("GITHUB_WORKFLOW_REF")),
	}
	data, err := sarif.Build(res, opts)
	if err == nil {
		err = writeFile(s.SARIFFile, data)
	}
	if err != nil {
		log.Errorf("write SARIF report %s: %v", s.SARIFFile, err)
		return false
	}
	log.Infof("SARIF report: %s", s.SARIFFile)
	return true
}

// writeStepFiles appends the job summary and the step outputs to the files
// the runner names (GITHUB_STEP_SUMMARY, GITHUB_OUTPUT), when it names them,
// and reports whether it wrote every one.
func writeStepFiles(d Deps, log *console.Console, res finding.Result, outputs map[string]string) bool {
	ok := true
	if path := d.Getenv("GITHUB_STEP_SUMMARY"); path != "" {
		md := summary.Render(res, summary.Options{RunURL: github.RunURL(d.Getenv), ToolVersion: d.Version})
		if err := workflow.AppendSummary(path, md); err != nil {
			log.Errorf("%v", err)
			ok = false
		}
	}
	if path := d.Getenv("GITHUB_OUTPUT"); path != "" {
		var list []workflow.Output
		for _, o := range config.Outputs {
			if v, ok := outputs[o.Name]; ok {
				list = append(list, workflow.Output{Name: o.Name, Value: v})
			}
		}
		if err := workflow.WriteOutputs(path, list); err != nil {
			log.Errorf("%v", err)
			ok = false
		}
	}
	return ok
}

// writeFile writes a report atomically (internal/atomicfile).
func writeFile(path string, data []byte) error {
	return atomicfile.WriteFile(path, data, 0o644)
}
