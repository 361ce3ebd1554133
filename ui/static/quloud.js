// Quloud settings page: live job progress (Server-Sent Events), confirmations and auto-submitting
// selects. Served as a file: the page's Content-Security-Policy allows no inline script.
'use strict'

function percent(job) {
  if (job.state === 'done') return 100
  const p = job.progress || {}
  const n = (k) => (typeof p[k] === 'number' ? p[k] : 0)
  if (job.kind === 'restore') return n('bytesTotal') > 0 ? Math.floor((100 * n('bytesDone')) / n('bytesTotal')) : 0
  if (job.kind === 'audit') return p.phase === 'repair' ? 50 + Math.floor((50 * n('sharesDone')) / Math.max(1, n('sharesTotal'))) : Math.floor((50 * n('peersDone')) / Math.max(1, n('peersTotal')))
  if (p.phase === 'uploading') return 50 + Math.floor((49 * n('packsDone')) / Math.max(1, n('packsTotal')))
  const seen = n('filesSeen')
  return seen > 0 ? Math.floor((50 * (n('filesRead') + n('filesUnchanged') + n('filesSkipped'))) / seen) : 0
}

function describe(job) {
  if (job.state === 'failed') return 'failed: ' + (job.error ? job.error.message : '')
  if (job.state === 'done') return job.result && job.result.result ? 'done (' + job.result.result + ')' : 'done'
  return job.state + ' ' + percent(job) + '%'
}

function renderJobs(list, jobs) {
  for (const job of jobs.slice().reverse()) {
    let li = list.querySelector('[data-job="' + CSS.escape(job.id) + '"]')
    if (!li) {
      li = document.createElement('li')
      li.dataset.job = job.id
      const kind = document.createElement('span')
      kind.className = 'kind'
      kind.textContent = job.kind
      const what = document.createTextNode(' ' + (job.share === 'all' ? 'all shares' : job.share) + ' ')
      const bar = document.createElement('progress')
      bar.max = 100
      const state = document.createElement('span')
      state.className = 'state'
      li.append(kind, what, bar, state)
      list.prepend(li)
    }
    li.querySelector('progress').value = percent(job)
    li.querySelector('.state').textContent = describe(job)
    li.dataset.state = job.state
  }
}

function renderShares(shares) {
  for (const s of shares) {
    const row = document.querySelector('tr[data-share="' + CSS.escape(s.name) + '"]')
    if (!row) continue
    const badge = row.querySelector('[data-health]')
    if (badge && s.packs > 0) {
      badge.textContent = s.healthy + ' healthy · ' + s.degraded + ' degraded · ' + s.lost + ' lost'
      badge.className = 'badge ' + (s.lost ? 'bad' : s.degraded ? 'warn' : 'ok')
    }
    const last = row.querySelector('[data-last]')
    if (last && s.lastBackupMs) last.textContent = new Date(s.lastBackupMs).toISOString().replace('T', ' ').slice(0, 16) + ' UTC' + (s.lastResult ? ' (' + s.lastResult + ')' : '')
  }
}

document.addEventListener('DOMContentLoaded', () => {
  for (const form of document.querySelectorAll('form[data-confirm]')) {
    form.addEventListener('submit', (e) => {
      if (!window.confirm(form.dataset.confirm)) e.preventDefault()
    })
  }
  for (const select of document.querySelectorAll('select[data-autosubmit]')) {
    select.addEventListener('change', () => {
      if (select.name === 'share') for (const other of select.form.querySelectorAll('select[name=seq]')) other.disabled = true
      select.form.submit()
    })
  }
  const list = document.getElementById('jobs')
  if (list && window.EventSource) {
    const events = new EventSource('/events')
    events.onmessage = (m) => {
      const data = JSON.parse(m.data)
      renderJobs(list, data.jobs)
      renderShares(data.shares)
      const step = document.querySelector('[data-proof-step]')
      if (step && data.proofSetup) {
        step.textContent = data.proofSetup.step
        document.querySelector('[data-proof-steps]').textContent = data.proofSetup.steps
        document.querySelector('[data-proof-label]').textContent = data.proofSetup.label
      }
    }
  }
})
