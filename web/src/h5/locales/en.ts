import type zhCN from './zh-CN'

const en: typeof zhCN = {
  app: { name: 'Huiliu' },
  notFound: { title: 'Page not found', body: 'Scan the QR code at the store or on the product to open the right form.' },
  language: { switch: '简体中文' },
  form: {
    heading: 'Request service', intro: 'Tell us what happened. Our team will handle it soon, and you can follow the progress at any time.',
    title: 'Title', titleHint: 'In a few words (optional)',
    description: 'Description', descriptionHint: 'What went wrong? E.g. product model, symptoms, when it started',
    descriptionRequired: 'Please describe the problem',
    photos: 'Photos', photosHint: 'Up to {max}, compressed before upload', addPhoto: 'Add a photo',
    deletePhoto: 'Remove photo', compressing: 'Compressing…', tooLarge: 'Each picture must be under {size} MB', notImage: 'Please choose a picture',
    contact: 'Contact', contactHint: { none: 'Leave a phone number or e-mail so we can reach you', phone: 'Please leave a mobile number so we can reach you', phone_or_email: 'Please leave a mobile number or an e-mail address so we can reach you' },
    phoneRequired: 'Please enter your mobile number', phoneOrEmailRequired: 'Please leave a mobile number or an e-mail address',
    name: 'Name', nameHint: 'Optional',
    phone: 'Mobile', phoneHint: 'Optional', phoneInvalid: 'Please enter a valid mobile number',
    email: 'E-mail', emailHint: 'Optional', emailInvalid: 'Please enter a valid e-mail address',
    submit: 'Submit', submitting: 'Submitting…', waitPhotos: 'Photos are still being prepared, one moment',
    unavailable: 'This QR code is no longer valid', unavailableBody: 'Please ask the staff, or scan another QR code.',
    loadFailed: 'Could not load the form: {message}', retry: 'Retry',
  },
  templateForm: {
    choose: 'Choose', addressHint: 'Street address', locate: 'Use my location', located: 'Located',
    invalid: 'Please fix the fields marked in red',
  },
  errors: {
    tooFrequent: 'Too many submissions, please try again later', tooLarge: 'The photos are too large, remove some and try again',
    badFile: 'A photo has an unsupported format, please replace it', network: 'Network error, please check your connection and retry',
    invalid: 'Please check your entries: {message}', generic: 'Could not submit: {message}',
  },
  done: {
    title: 'Submitted', number: 'Ticket number', body: 'We received your request and will handle it soon.',
    progress: 'View progress', saveHint: 'Bookmark the progress page to see updates and add details at any time.',
    copy: 'Copy progress link', copied: 'Progress link copied', copyFailed: 'Could not copy; open the progress page and bookmark it',
    again: 'Submit another', missing: 'No submission found here. Please scan the QR code again.',
  },
  progress: {
    title: 'Progress', number: 'Ticket number', status: 'Status', created: 'Submitted {time}', updated: 'Updated {time}',
    timeline: 'History', empty: 'No reply yet, we will get back to you soon', you: 'Me', agent: 'Support', system: 'System',
    add: 'Add details', inputHint: 'Add more information or answer our team', send: 'Send', sent: 'Sent',
    messageRequired: 'Please enter a message', autoRefresh: 'This page refreshes every 10 seconds',
    notFound: 'This link is invalid or has expired', notFoundBody: 'Please use the progress link you got after submitting.', loadFailed: 'Could not load: {message}',
    attachment: 'Attachment',
  },
  help: {
    title: 'Help centre',
    search: 'Search',
    searchHint: 'Your question, e.g. how do I return an item',
    noResults: 'No matching articles; try other words',
    missing: 'No such help centre',
    articleMissing: 'This article does not exist or was taken down',
    back: 'Back',
    helpfulQuestion: 'Was this article helpful?',
    thanks: 'Thanks for your feedback!',
    yes: 'Yes',
    no: 'No',
    voteFailed: 'Could not send; please try again later',
  },
  status: { new: 'Received', open: 'In progress', pending: 'Waiting for you', on_hold: 'In progress', resolved: 'Resolved', closed: 'Closed' },
}

export default en
