// When the page's modules did not all load (a phone's link dropped one of its files, or
// one of them failed), the page would stay blank: main.js never showed it. This classic
// script runs whatever the modules did: once the page has loaded, if main.js has not made
// it ready, it reloads the page once by itself, and after that says so and offers to try
// again (body[data-state="load-failed"]).

(() => {
  const RELOADED = 'visavis-reloaded';
  const storage = () => {
    try {
      return window.sessionStorage;
    } catch {
      return null; // storage refused: no reload by itself, the button still works
    }
  };
  window.addEventListener('load', () => {
    const store = storage();
    if (document.body.classList.contains('ready')) {
      store?.removeItem(RELOADED);
      return;
    }
    if (store && store.getItem(RELOADED) !== '1') {
      store.setItem(RELOADED, '1');
      location.reload();
      return;
    }
    document.body.dataset.state = 'load-failed';
    const box = document.getElementById('load-failed');
    box.hidden = false;
    box.querySelector('button').addEventListener('click', () => location.reload());
  });
})();
