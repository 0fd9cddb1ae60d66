import './base.css';
import './sidebar.css';
import './joblog.css';
