/** A product to start from, offered by the form's "Use an example" button. */
const EXAMPLE = {
  name: 'EventHub',
  tagline: 'Run your meetup without the spreadsheet',
  description: 'Publish an event page, collect RSVPs with a waitlist, and check attendees in from a phone.',
  keyFeatures: [
    'Event page with RSVP',
    'Waitlist when full',
    'Door check-in on mobile',
    'CSV export of attendees',
  ],
  targetAudience: 'Meetup organisers',
  primaryColor: '#4f46e5',
  secondaryColor: '#f59e0b',
  darkMode: true,
  email: 'founder@example.com',
};

/** What each field of the spec is called on the form, for messages in words. */
const FIELD_LABELS = {
  'user.email': 'Your email',
  'user.id': 'Your email',
  'product.name': 'Product name',
  'product.id': 'Product name',
  'product.tagline': 'Tagline',
  'product.description': 'Description',
  'specifications.keyFeatures': 'Key features',
  'specifications.targetAudience': 'Target audience',
  'specifications.designPreferences': 'Look',
};

/** JSON that is safe inside a script: no `<` can close the element. */
const constant = (value: unknown) => JSON.stringify(value).replace(/</g, '\\u003c');

/**
 * The new-job form, a part of the dashboard's script (it runs inside its closure and uses its
 * `$`, `el`, `api` and `go`). The form asks for the spec as a person would write it and builds
 * the spec object the spec schema validates; a raw JSON spec (under "Advanced") wins when filled.
 * The server's validation issues are shown in words, next to the fields they name.
 */
export const FORM_JS = String.raw`
  const EXAMPLE = ${constant(EXAMPLE)};
  const FIELD_LABELS = ${constant(FIELD_LABELS)};
  const EMAIL_KEY = 'mvp-pipeline.email';

  const slug = (text) =>
    text.normalize('NFKD').toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40) || 'product';
  /** The same email is the same user, so their jobs list together. */
  const userIdOf = (email) => 'user_' + email.toLowerCase().replace(/[^a-z0-9_.:@-]/g, '-').slice(0, 120);

  /** The spec the fields describe, in the shape the spec schema validates. */
  function specFromFields() {
    const value = (id) => $(id).value.trim();
    const name = value('f-name');
    const email = value('f-email');
    const product = { id: 'product_' + slug(name) + '_' + Date.now().toString(36), name };
    if (value('f-tagline')) product.tagline = value('f-tagline');
    if (value('f-description')) product.description = $('f-description').value.trim();
    const specifications = {
      keyFeatures: $('f-features').value.split('\n').map((line) => line.trim()).filter(Boolean),
      designPreferences: { colors: [$('f-primary').value, $('f-secondary').value], darkMode: $('f-dark').checked },
    };
    if (value('f-audience')) specifications.targetAudience = value('f-audience');
    return { user: { id: userIdOf(email), email }, product, specifications };
  }

  function clearProblems() {
    $('form-error').replaceChildren();
    for (const node of document.querySelectorAll('#submit-form .field-error')) node.textContent = '';
    for (const node of document.querySelectorAll('#submit-form [aria-invalid]')) node.removeAttribute('aria-invalid');
  }
  /** An issue's path inside the spec, with dots for indices: spec.a.b[2] → a.b.2. */
  const specPath = (path) => (path || '').replace(/\[(\d+)\]/g, '.$1').replace(/^spec\.?/, '');
  /** The field an issue's path names (spec.product.name → the product name's field), if any. */
  function fieldFor(path) {
    const inSpec = specPath(path);
    for (const node of document.querySelectorAll('#submit-form .field-error')) {
      const key = node.getAttribute('data-for');
      if (inSpec === key || inSpec.startsWith(key + '.')) return node;
    }
    return null;
  }
  /** An issue in words: "Key feature 3: must be at most 300 characters". */
  function issueText(issue) {
    const inSpec = specPath(issue.path);
    const feature = /^specifications\.keyFeatures\.(\d+)$/.exec(inSpec);
    if (feature) return 'Key feature ' + (Number(feature[1]) + 1) + ': ' + issue.message;
    const label = Object.keys(FIELD_LABELS).find((key) => inSpec === key || inSpec.startsWith(key + '.'));
    return (label ? FIELD_LABELS[label] : issue.path || 'The request') + ': ' + issue.message;
  }
  function showProblems(summary, issues, fromFields) {
    const problem = $('form-error');
    problem.append(el('div', { text: summary }));
    if (!issues.length) return;
    problem.append(el('ul', {}, issues.map((i) => el('li', { text: fromFields ? issueText(i) : (i.path ? i.path + ': ' : '') + i.message }))));
    if (!fromFields) return;
    for (const issue of issues) {
      const slot = fieldFor(issue.path || '');
      if (!slot) continue;
      slot.textContent = slot.textContent ? slot.textContent + ' ' + issueText(issue) + '.' : issueText(issue) + '.';
      const input = document.querySelector('[aria-describedby="' + slot.id + '"]');
      if (input) input.setAttribute('aria-invalid', 'true');
    }
  }

  try {
    const remembered = localStorage.getItem(EMAIL_KEY);
    if (remembered) $('f-email').value = remembered;
  } catch (error) {
    // Storage is off in this browser: the field starts empty.
  }

  $('example').addEventListener('click', () => {
    clearProblems();
    $('f-name').value = EXAMPLE.name;
    $('f-tagline').value = EXAMPLE.tagline;
    $('f-description').value = EXAMPLE.description;
    $('f-features').value = EXAMPLE.keyFeatures.join('\n');
    $('f-audience').value = EXAMPLE.targetAudience;
    $('f-primary').value = EXAMPLE.primaryColor;
    $('f-secondary').value = EXAMPLE.secondaryColor;
    $('f-dark').checked = EXAMPLE.darkMode;
    if (!$('f-email').value.trim()) $('f-email').value = EXAMPLE.email;
    $('spec').value = '';
    $('f-name').focus();
  });

  $('submit-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    clearProblems();
    const template = $('f-template').value;
    const text = $('spec').value.trim();
    const userId = $('user-id').value.trim();
    const productId = $('product-id').value.trim();
    let body;
    let fromFields = false;
    if (text) {
      try {
        body = { spec: JSON.parse(text), template };
      } catch (error) {
        showProblems('The spec is not valid JSON: ' + error.message, [], false);
        return;
      }
    } else if (userId || productId) {
      body = { userId, productId, template };
    } else {
      fromFields = true;
      const missing = [];
      if (!$('f-name').value.trim()) missing.push({ path: 'product.name', message: 'give the product a name' });
      if (!$('f-email').value.trim() || !$('f-email').validity.valid) {
        missing.push({ path: 'user.email', message: 'give your email address (you will own the app)' });
      }
      if (missing.length) {
        showProblems('A few things are missing:', missing, true);
        const first = document.querySelector('#submit-form [aria-invalid="true"]');
        if (first) first.focus();
        return;
      }
      body = { spec: specFromFields(), template };
    }
    const button = $('submit');
    button.disabled = true;
    try {
      const created = await api('/api/mvp/deploy', {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify(body),
      });
      if (fromFields) {
        try {
          localStorage.setItem(EMAIL_KEY, body.spec.user.email);
        } catch (error) {
          // Storage is off: the email is asked for again next time.
        }
      }
      $('spec').value = '';
      go('/jobs/' + encodeURIComponent(created.jobId));
    } catch (error) {
      showProblems(fromFields && error.issues && error.issues.length ? 'The spec needs a few changes:' : error.message, error.issues || [], fromFields);
      const first = document.querySelector('#submit-form [aria-invalid="true"]');
      if (first) first.focus();
    } finally {
      button.disabled = false;
    }
  });
`;
